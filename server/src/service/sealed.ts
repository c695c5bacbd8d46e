/**
 * Secrets a job carries through a shared queue (the viewer's Authorization header in
 * pass-through mode), sealed with AES-256-GCM under a key the service and its workers hold
 * (PHASELENS_JOB_KEY): Redis, its persistence files and its backups never see them in clear.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PhaseLensError } from '../errors';

/** The service and a worker do not share a working PHASELENS_JOB_KEY (their configuration). */
export class JobKeyError extends PhaseLensError {
  readonly code = 'job-key';
}

const PREFIX = 'sealed-v1:';

/** A 32-byte key from 64 hex digits or base64; undefined for anything else. */
export function parseJobKey(text: string): Buffer | undefined {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  return key.length === 32 ? key : undefined; // 64 hex digits, or 44 base64 characters
}

/** Seals `secret` for one job: `jobId` is bound in (a sealed value moved to another job fails). */
export function seal(secret: string, key: Buffer, jobId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(jobId, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function unseal(sealed: string, key: Buffer | undefined, jobId: string): string {
  if (!key)
    throw new JobKeyError(
      "this analysis carries the viewer's sealed credentials: set the service's PHASELENS_JOB_KEY on the worker too",
    );
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  try {
    // IV (12 bytes), the full 16-byte tag, then at least one byte: nothing shorter is accepted.
    if (raw.length < 29) throw new Error('truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(jobId, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new JobKeyError(
      "the viewer's sealed credentials do not open with this PHASELENS_JOB_KEY for this analysis (the service and its workers need the same key)",
    );
  }
}
