/**
 * Secrets a job carries through a shared queue (the viewer's Authorization header in
 * pass-through mode), sealed with AES-256-GCM under a key the service and its workers hold
 * (PHASELENS_JOB_KEY): Redis, its persistence files and its backups never see them in clear.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors';

const PREFIX = 'sealed-v1:';

/** A 32-byte key from 64 hex digits or base64; undefined for anything else. */
export function parseJobKey(text: string): Buffer | undefined {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  return key.length === 32 ? key : undefined;
}

export function seal(secret: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function unseal(sealed: string, key: Buffer | undefined): string {
  if (!key)
    throw new InvalidInputError(
      "this analysis carries the viewer's sealed credentials: set the service's PHASELENS_JOB_KEY on the worker too",
    );
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new InvalidInputError(
      "the viewer's sealed credentials do not open with this PHASELENS_JOB_KEY (the service and its workers need the same key)",
    );
  }
}
