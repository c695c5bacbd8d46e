import {
  confusionMatrix,
  fitTemperature,
  reliability,
  seriesProbabilities,
} from '../src/model/calibrate';
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
  it('series probabilities are the renormalised geometric mean of the slices, softened by T', () => {
    const slices = [
      [0.7, 0.1, 0.1, 0.1],
      [0.2, 0.6, 0.1, 0.1],
    ];
    const p = seriesProbabilities(slices);
    const g = [0, 1, 2, 3].map((k) => Math.sqrt(slices[0][k] * slices[1][k]));
    const total = g.reduce((a, b) => a + b, 0);
    p.forEach((v, k) => expect(v).toBeCloseTo(g[k] / total, 10));
    const soft = seriesProbabilities(slices, 4);
    expect(Math.max(...soft)).toBeLessThan(Math.max(...p));
    expect(soft.indexOf(Math.max(...soft))).toBe(p.indexOf(Math.max(...p)));
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
