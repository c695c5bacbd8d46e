import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/backend';
import { maxPool2 } from '../src/model/phase-graph';

describe("the attribution graph's 2x2 max pooling gradient", () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  const gradOf = (pool: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D, dy: tf.Tensor4D) =>
    tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), dy)))(x);

  it.each([
    [2, 8, 8, 3],
    [1, 9, 7, 2], // odd sizes: the last row and column are not pooled
  ])(
    "equals the cpu backend's MaxPoolGrad where windows have one maximum (%i x %i x %i x %i)",
    async (n, h, w, c) => {
      const x = tf.randomUniform([n, h, w, c], -1, 1, 'float32', 7) as tf.Tensor4D;
      const dy = tf.randomUniform([n, h >> 1, w >> 1, c], -1, 1, 'float32', 9) as tf.Tensor4D;
      const values = [x.dataSync().slice(), dy.dataSync().slice()];
      const ours = Array.from(gradOf(maxPool2, x, dy).dataSync(), (v) => v + 0);
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

  it('shares the gradient among tied maxima, and sends none to the rest', () => {
    tf.tidy(() => {
      // One window: two maxima (3) and two smaller values.
      const x = tf.tensor4d([3, 1, 3, 0], [1, 2, 2, 1]);
      const g = gradOf(maxPool2, x, tf.tensor4d([2], [1, 1, 1, 1]));
      expect(Array.from(g.dataSync())).toEqual([1, 0, 1, 0]);
    });
  });
});
