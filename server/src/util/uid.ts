import { createHash, randomBytes } from 'node:crypto';

/**
 * A 2.25 UID from a UUID (PS3.5 B.2): the UUID's 128 bits as one decimal integer, at most 39
 * digits after "2.25.". `version` and the RFC 9562 variant bits are set in place.
 */
function uidFromUuidBytes(bytes: Uint8Array, version: 4 | 8): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | (version << 4);
  b[8] = (b[8] & 0x3f) | 0x80;
  return `2.25.${BigInt('0x' + b.toString('hex')).toString()}`;
}

/**
 * The same parts always give the same UID (so re-runs replace instead of duplicating): a
 * name-based UUIDv8 from SHA-256 of the parts (RFC 9562 B.2).
 */
export function deterministicUid(...parts: (string | number)[]): string {
  return uidFromUuidBytes(createHash('sha256').update(parts.join('\u0000')).digest(), 8);
}

/** A random UUIDv4 as a 2.25 UID. */
export function randomUid(): string {
  return uidFromUuidBytes(randomBytes(16), 4);
}
