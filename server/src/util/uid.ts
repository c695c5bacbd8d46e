import { createHash, randomBytes } from 'node:crypto';

/** A 2.25 UID from 120 bits: under 2^128 and at most 39 digits after "2.25.". */
function uidFromBytes(bytes: Uint8Array): string {
  return `2.25.${BigInt('0x' + Buffer.from(bytes.subarray(0, 15)).toString('hex')).toString()}`;
}

/** The same parts always give the same UID (so re-runs replace instead of duplicating). */
export function deterministicUid(...parts: (string | number)[]): string {
  return uidFromBytes(createHash('sha256').update(parts.join('\u0000')).digest());
}

export function randomUid(): string {
  return uidFromBytes(randomBytes(15));
}
