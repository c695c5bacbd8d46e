import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/inference/backend';
import { guidedReluPool2, maxPool2, reluPool2 } from '../src/model/inference/phase-graph';
import { poolGradientStats } from '../src/model/kernels/max-pool-gradient';

/** Whether the one-pass wasm kernel takes this pooling (else whole-tensor tfjs kernels do). */
const takesKernel = (h: number, w: number, c: number): boolean =>
  h % 2 === 0 && w % 2 === 0 && c % 4 === 0;

/** d/dx of sum(pool(x) * dy). */
const gradOf = (pool: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D, dy: tf.Tensor4D) =>
  tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), dy)))(x);

describe("the attribution graph's 2x2 max pooling gradient", () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  it.each([
    [2, 8, 8, 3],
    [2, 8, 8, 8], // the one-pass kernel
    [1, 9, 7, 2], // odd sizes: the last row and column are not pooled
  ])(
    "equals the cpu backend's MaxPoolGrad where windows have one maximum (%i x %i x %i x %i)",
    async (n, h, w, c) => {
      const runs = poolGradientStats.runs;
      const x = tf.randomUniform([n, h, w, c], -1, 1, 'float32', 7) as tf.Tensor4D;
      const dy = tf.randomUniform([n, h >> 1, w >> 1, c], -1, 1, 'float32', 9) as tf.Tensor4D;
      const values = [x.dataSync().slice(), dy.dataSync().slice()];
      const ours = Array.from(gradOf(maxPool2, x, dy).dataSync(), (v) => v + 0);
      expect(poolGradientStats.runs - runs).toBe(takesKernel(h, w, c) ? 1 : 0);
      const backend = tf.getBackend();
      await tf.setBackend('cpu');
      try {
        const [cx, cdy] = [tf.tensor4d(values[0], x.shape), tf.tensor4d(values[1], dy.shape)];
        const reference = gradOf((t) => tf.maxPool(t, 2, 2, 'valid'), cx, cdy).dataSync();
        expect(ours).toEqual(Array.from(reference, (v) => v + 0));
      } finally {
        await tf.setBackend(backend);
      }
    },
  );

  it.each([1, 4])(
    'shares the gradient among tied maxima, and sends none to the rest (%i channels)',
    (c) => {
      tf.tidy(() => {
        // One window: two maxima (3) and two smaller values, in every channel.
        const x = tf.tensor4d(
          [3, 1, 3, 0].flatMap((v) => Array(c).fill(v)),
          [1, 2, 2, c],
        );
        const g = gradOf(maxPool2, x, tf.fill([1, 1, 1, c], 2) as tf.Tensor4D);
        expect(Array.from(g.dataSync())).toEqual([1, 0, 1, 0].flatMap((v) => Array(c).fill(v)));
      });
    },
  );

  it('keeps no tensor alive after a gradient, nor after a forward pass without one', () => {
    const x = tf.randomUniform([1, 8, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      gradOf(maxPool2, x, tf.ones([1, 4, 4, 2]));
      gradOf(reluPool2, x, tf.ones([1, 4, 4, 2]));
    });
    tf.tidy(() => {
      for (const pool of [maxPool2, reluPool2, guidedReluPool2]) pool(x);
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('pooling of rectified activations, with the ReLU gradient folded in', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  /** relu(t) whose gradient passes unchanged. */
  const straightThroughRelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.relu(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => dy,
  })) as (t: tf.Tensor) => tf.Tensor;

  /** d/dz of sum(pool(relu(z)) * dy), where the pool is given relu(z). */
  const gradThroughRelu = (
    pool: (x: tf.Tensor4D) => tf.Tensor,
    z: tf.Tensor4D,
    dy: tf.Tensor4D,
    folded: boolean,
  ) =>
    tf.grad((t: tf.Tensor) => {
      // Folded: the pool's gradient already holds the ReLU's, so relu's own must not apply.
      const x = folded ? straightThroughRelu(t) : tf.relu(t);
      return tf.sum(tf.mul(pool(x as tf.Tensor4D), dy));
    })(z);

  it.each([
    [2, 8, 8, 3],
    [2, 8, 8, 8],
    [1, 9, 7, 2],
  ])(
    "equals the cpu backend's ReLU then MaxPoolGrad (%i x %i x %i x %i), zero windows included",
    async (n, h, w, c) => {
      const runs = poolGradientStats.runs;
      // About half the values negative: some windows are all zero after the ReLU.
      const z = tf.randomUniform([n, h, w, c], -1, 0.4, 'float32', 11) as tf.Tensor4D;
      const dy = tf.randomUniform([n, h >> 1, w >> 1, c], -1, 1, 'float32', 13) as tf.Tensor4D;
      const values = [z.dataSync().slice(), dy.dataSync().slice()];
      const plain = Array.from(gradThroughRelu(reluPool2, z, dy, true).dataSync(), (v) => v + 0);
      const guided = Array.from(
        gradThroughRelu(guidedReluPool2, z, dy, true).dataSync(),
        (v) => v + 0,
      );
      expect(poolGradientStats.runs - runs).toBe(takesKernel(h, w, c) ? 2 : 0);
      const backend = tf.getBackend();
      await tf.setBackend('cpu');
      try {
        const [cz, cdy] = [tf.tensor4d(values[0], z.shape), tf.tensor4d(values[1], dy.shape)];
        const reference = Array.from(
          gradThroughRelu((t) => tf.maxPool(t, 2, 2, 'valid'), cz, cdy, false).dataSync(),
          (v) => v + 0,
        );
        expect(reference.some((v) => v !== 0)).toBe(true);
        expect(plain).toEqual(reference);
        // Guided: only the positive part of the same gradient passes.
        expect(guided).toEqual(reference.map((v) => Math.max(v, 0) + 0));
      } finally {
        await tf.setBackend(backend);
      }
    },
  );

  it.each([1, 4])(
    'shares among tied positive maxima, and passes nothing from an all-zero window (%i channels)',
    (c) => {
      tf.tidy(() => {
        // Window 1: two tied maxima of 3. Window 2: all zeros (ReLU off everywhere).
        const each = (values: number[]): number[] => values.flatMap((v) => Array(c).fill(v));
        const x = tf.tensor4d(each([3, 1, 0, 0, 3, 0, 0, 0]), [1, 2, 4, c]);
        const g = gradOf(reluPool2, x, tf.tensor4d(each([2, 5]), [1, 1, 2, c]));
        expect(Array.from(g.dataSync())).toEqual(each([1, 0, 0, 0, 1, 0, 0, 0]));
        // Guided: a negative gradient passes nowhere.
        const guided = gradOf(guidedReluPool2, x, tf.tensor4d(each([-2, 5]), [1, 1, 2, c]));
        expect(Array.from(guided.dataSync(), (v) => v + 0)).toEqual(each([0, 0, 0, 0, 0, 0, 0, 0]));
      });
    },
  );
});
