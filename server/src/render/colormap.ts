import type { Rgb } from './canvas';

/**
 * A heat colour map (dark red -> red -> orange -> yellow -> white), monotone in lightness so the
 * order of values reads without a legend, and distinct from grey CT.
 */
const STOPS: [number, Rgb][] = [
  [0, [60, 0, 0]],
  [0.35, [200, 20, 0]],
  [0.65, [255, 140, 0]],
  [0.85, [255, 230, 40]],
  [1, [255, 255, 220]],
];

const LUT: Rgb[] = Array.from({ length: 256 }, (_, i) => heatExact(i / 255));

/** The heat colour of t in [0, 1], from a 256-entry table (per-pixel use). */
export function heat(t: number): Rgb {
  return LUT[t <= 0 ? 0 : t >= 1 ? 255 : (t * 255 + 0.5) | 0];
}

function heatExact(t: number): Rgb {
  const v = t < 0 ? 0 : t > 1 ? 1 : t;
  for (let i = 1; i < STOPS.length; i++) {
    const [t1, c1] = STOPS[i];
    if (v <= t1) {
      const [t0, c0] = STOPS[i - 1];
      const f = (v - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + (c1[k] - c0[k]) * f)) as Rgb;
    }
  }
  return STOPS[STOPS.length - 1][1];
}

/** The value at the q-th quantile of the positive values (a robust maximum for scaling maps). */
export function positiveQuantile(values: Float32Array, q: number): number {
  return positiveQuantileOfPlanes([values], values.length, q);
}

/**
 * positiveQuantile of planes read one after another (`total` values in all), the same value as
 * of their concatenation, never holding more than one plane and the sample.
 */
export function positiveQuantileOfPlanes(
  planes: Iterable<Float32Array>,
  total: number,
  q: number,
): number {
  const positive: number[] = [];
  const step = Math.max(1, Math.floor(total / 200000));
  let offset = 0; // index of the plane's first value in the concatenation
  for (const values of planes) {
    for (let i = (step - (offset % step)) % step; i < values.length; i += step)
      if (values[i] > 0) positive.push(values[i]);
    offset += values.length;
  }
  if (positive.length === 0) return 0;
  positive.sort((a, b) => a - b);
  return positive[Math.min(positive.length - 1, Math.floor(q * positive.length))];
}
