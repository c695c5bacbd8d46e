import { deterministicUid, randomUid } from '../src/util/uid';

/** The UUID a 2.25 UID encodes, as 32 hex digits. */
const uuidOf = (uid: string): string => BigInt(uid.slice(5)).toString(16).padStart(32, '0');

describe('2.25 UIDs from UUIDs', () => {
  it('derived UIDs are name-based UUIDv8, stable for the same parts and distinct otherwise', () => {
    const a = deterministicUid('series', '1.2.3', 'phaselens-phase', '3.0.0', 'phase-report');
    expect(a).toBe(deterministicUid('series', '1.2.3', 'phaselens-phase', '3.0.0', 'phase-report'));
    expect(a).not.toBe(
      deterministicUid('series', '1.2.3', 'phaselens-phase', '3.0.1', 'phase-report'),
    );
    const hex = uuidOf(a);
    expect(hex[12]).toBe('8'); // version
    expect(['8', '9', 'a', 'b']).toContain(hex[16]); // RFC 9562 variant
    expect(a).toMatch(/^2\.25\.(0|[1-9]\d{0,38})$/);
    expect(a.length).toBeLessThanOrEqual(64);
  });

  it('random UIDs are UUIDv4', () => {
    const hex = uuidOf(randomUid());
    expect(hex[12]).toBe('4');
    expect(['8', '9', 'a', 'b']).toContain(hex[16]);
    expect(randomUid()).not.toBe(randomUid());
  });
});
