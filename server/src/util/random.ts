/** Small deterministic pseudo-random generator (mulberry32): one 32-bit state, a fixed step. */
export class Mulberry32 {
  private state: number;

  constructor(seed: string) {
    let a = 0;
    for (let i = 0; i < seed.length; i++)
      a = (Math.imul(a ^ seed.charCodeAt(i), 2654435761) + i) >>> 0;
    this.state = a;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** As if `n` values had been drawn: the state only ever adds the step, so this is one step. */
  skip(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= 0))
      throw new RangeError(`a random stream skips a whole number of draws >= 0, got ${n}`);
    const turns = n % 4294967296; // the state's period
    this.state = (this.state + Math.imul(turns >>> 0, 0x6d2b79f5)) >>> 0;
  }
}

/** A seeded source of values in [0, 1). */
export function seededRandom(seed: string): () => number {
  const source = new Mulberry32(seed);
  return () => source.next();
}
