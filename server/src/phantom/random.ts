import { Mulberry32 } from '../util/random';

/** A seeded random source with the draws the generator needs. */
export class Random {
  private readonly source: Mulberry32;
  private count = 0;
  constructor(seed: string) {
    this.source = new Mulberry32(seed);
  }
  /** Values drawn so far: with `skip`, how a resumed training run picks up its random stream. */
  get drawn(): number {
    return this.count;
  }
  /** Advances the stream by `n` draws, as if they had been taken. */
  skip(n: number): void {
    this.source.skip(n);
    this.count += n;
  }
  private next(): number {
    this.count++;
    return this.source.next();
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hiInclusive: number): number {
    return Math.floor(this.uniform(lo, hiInclusive + 1));
  }
  normal(mean = 0, sd = 1): number {
    const u = Math.max(this.next(), 1e-12);
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** Raw 32-bit integers, for noise fields. */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}
