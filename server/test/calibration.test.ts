import {
  confusionMatrix,
  fitTemperature,
  reliability,
  seriesProbabilities,
} from '../src/model/inference/calibrate';
import { Random } from '../src/phantom/random';

const softmax = (z: number[], t = 1): number[] => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp((v - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** Draws a class from probabilities `p`. */
const draw = (p: number[], r: Random): number => {
  let u = r.uniform();
  for (let k = 0; k < p.length; k++) if ((u -= p[k]) <= 0) return k;
  return p.length - 1;
};

describe('calibration', () => {
  it('series probabilities are the arithmetic mean of the slices, sharpened or softened by T', () => {
    const slices = [
      [0.7, 0.1, 0.1, 0.1],
      [0.2, 0.6, 0.1, 0.1],
    ];
    const p = seriesProbabilities(slices);
    [0.45, 0.35, 0.1, 0.1].forEach((v, k) => expect(p[k]).toBeCloseTo(v, 10));
    const soft = seriesProbabilities(slices, 4);
    expect(Math.max(...soft)).toBeLessThan(Math.max(...p));
    expect(soft.indexOf(Math.max(...soft))).toBe(p.indexOf(Math.max(...p)));
  });

  it('one overconfident slice does not outvote the others (no product of experts)', () => {
    // Three slices lean non-contrast, one is all but certain of delayed. A product of experts
    // (the mean of log-probabilities) follows the certain slice; the mean of probabilities does not.
    const slices = [
      [0.6, 0.1, 0.1, 0.2],
      [0.6, 0.1, 0.1, 0.2],
      [0.6, 0.1, 0.1, 0.2],
      [1e-6, 1e-6, 1e-6, 1 - 3e-6],
    ];
    const p = seriesProbabilities(slices);
    expect(p.indexOf(Math.max(...p))).toBe(0);
    const logMean = [0, 1, 2, 3].map(
      (k) => slices.reduce((a, s) => a + Math.log(s[k]), 0) / slices.length,
    );
    expect(logMean.indexOf(Math.max(...logMean))).toBe(3);
  });

  it('recovers the temperature that makes an overconfident model honest', () => {
    const r = new Random('temperature');
    const trueT = 3;
    const series: number[][][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const z = [0, 1, 2, 3].map(() => r.normal(0, 4));
      // The model reports softmax(z); the world draws labels from softmax(z / 3).
      series.push([softmax(z)]);
      labels.push(draw(softmax(z, trueT), r));
    }
    const t = fitTemperature(series, labels);
    expect(t).toBeGreaterThan(2.6);
    expect(t).toBeLessThan(3.4);
    const before = reliability(
      series.map((s) => seriesProbabilities(s, 1)),
      labels,
    ).ece;
    const after = reliability(
      series.map((s) => seriesProbabilities(s, t)),
      labels,
    ).ece;
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.04);
  });

  it('counts a confusion matrix with true classes as rows', () => {
    const m = confusionMatrix(
      [
        [0.9, 0.1, 0, 0],
        [0.1, 0.8, 0.1, 0],
        [0, 0.6, 0.4, 0],
      ],
      [0, 1, 2],
    );
    expect(m[0][0]).toBe(1);
    expect(m[1][1]).toBe(1);
    expect(m[2][1]).toBe(1);
    expect(m[2][2]).toBe(0);
  });
});
