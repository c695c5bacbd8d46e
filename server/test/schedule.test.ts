import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/inference/backend';
import { COSINE_FLOOR, learningRateAt, ScheduledAdam } from '../src/model/training/schedule';

describe('learning-rate schedule', () => {
  it('cosine starts at the base rate, halves at mid-run, ends at the floor and never rises', () => {
    const base = 1e-3;
    const total = 101;
    expect(learningRateAt('cosine', base, 0, total)).toBeCloseTo(base, 12);
    expect(learningRateAt('cosine', base, 50, total)).toBeCloseTo(
      base * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2),
      12,
    );
    expect(learningRateAt('cosine', base, 100, total)).toBeCloseTo(base * COSINE_FLOOR, 12);
    for (let s = 1; s < total; s++)
      expect(learningRateAt('cosine', base, s, total)).toBeLessThan(
        learningRateAt('cosine', base, s - 1, total),
      );
    expect(learningRateAt('constant', base, 77, total)).toBe(base);
  });

  it('Adam steps with the rate set between steps', async () => {
    await selectBackend();
    // Adam's first step moves each weight by about the learning rate (m/sqrt(v) = sign of g).
    const step = (rate: number): number => {
      const w = tf.variable(tf.scalar(1));
      const adam = new ScheduledAdam(1e-3);
      adam.rate = rate;
      adam.minimize(() => tf.square(w) as tf.Scalar, false, [w]);
      const moved = 1 - w.dataSync()[0];
      adam.dispose();
      w.dispose();
      return moved;
    };
    expect(step(0)).toBe(0);
    expect(step(0.01)).toBeCloseTo(0.01, 6);
    expect(step(0.1)).toBeCloseTo(0.1, 5);
    expect(() => {
      new ScheduledAdam(1e-3).rate = Number.NaN;
    }).toThrow(/finite/);
  });
});
