import * as tf from '@tensorflow/tfjs';
import { INPUT_SIZE } from '../model/inference/preprocess';
import type { AttributionMethod } from './types';
import { toInputGrid } from './upsample';

const PATCH = 16;

/**
 * Occlusion sensitivity (Zeiler 2014): the drop of the class probability when a 16 x 16 pixel
 * patch (50 mm) is replaced by air, per patch position (stride 16), rectified and upsampled.
 * Model-agnostic and slow: one forward pass per patch.
 */
export const occlusion: AttributionMethod = {
  name: 'occlusion',
  description: 'drop of the class probability when a 5 cm patch is replaced by air',
  explain: (graph, input, target) =>
    tf.tidy(() => {
      const n = input.shape[0];
      const cells = INPUT_SIZE / PATCH;
      const base = tf.slice(tf.softmax(graph.logits(input)), [0, target], [-1, 1]);
      const drops: tf.Tensor[] = [];
      for (let cy = 0; cy < cells; cy++) {
        for (let cx = 0; cx < cells; cx++) {
          const mask = tf.buffer([1, INPUT_SIZE, INPUT_SIZE, 1]);
          for (let y = 0; y < INPUT_SIZE; y++)
            for (let x = 0; x < INPUT_SIZE; x++) {
              const inside = Math.floor(y / PATCH) === cy && Math.floor(x / PATCH) === cx ? 0 : 1;
              mask.set(inside, 0, y, x, 0);
            }
          // Each patch in its own scope: only the [n, 1] drop survives.
          drops.push(
            tf.tidy(() => {
              const occluded = tf.mul(input, mask.toTensor()) as tf.Tensor4D;
              const p = tf.slice(tf.softmax(graph.logits(occluded)), [0, target], [-1, 1]);
              return tf.sub(base, p);
            }),
          );
        }
      }
      const grid = tf.reshape(tf.concat(drops, 1), [n, cells, cells, 1]);
      return toInputGrid(tf.relu(grid));
    }),
};
