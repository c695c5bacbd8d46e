import { Random } from '../phantom/random';

export interface Estimate {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/**
 * Mean of per-series values with a 95% percentile bootstrap interval over series (the series,
 * not the slice, is the independent unit). NaNs are left out.
 */
export function bootstrapMean(values: number[], resamples = 2000, seed = 'bootstrap'): Estimate {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, low: NaN, high: NaN, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const random = new Random(seed);
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[random.int(0, n - 1)];
    means.push(s / n);
  }
  means.sort((a, b) => a - b);
  return {
    mean,
    low: means[Math.floor(0.025 * resamples)],
    high: means[Math.min(resamples - 1, Math.floor(0.975 * resamples))],
    n,
  };
}

/**
 * Bootstrap of a paired difference (a - b per series): the interval says whether one map beats
 * another on the same series.
 */
export function bootstrapDifference(a: number[], b: number[], seed = 'difference'): Estimate {
  return bootstrapMean(
    a.map((x, i) => x - b[i]),
    2000,
    seed,
  );
}
