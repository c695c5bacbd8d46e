import * as tf from '@tensorflow/tfjs';
import type { AttributionMethod } from './types';

const SAMPLES = 16;
const NOISE = 0.1;

/**
 * SmoothGrad (Smilkov 2017): saliency averaged over copies of the input with Gaussian noise
 * (sd 0.1 of the window range, 16 samples), which removes the gradient's pixel-level jitter.
 */
export const smoothgrad: AttributionMethod = {
  name: 'smoothgrad',
  description: 'saliency averaged over noisy copies of the input',
  explain: (graph, input, target, options = {}) =>
    tf.tidy(() => {
      let total: tf.Tensor = tf.zeros([...input.shape.slice(0, 3), 1]);
      for (let s = 0; s < SAMPLES; s++) {
        // Each sample in its own scope: a gradient's intermediates are large.
        const magnitude = tf.tidy(() => {
          const noise = tf.randomNormal(
            input.shape,
            0,
            NOISE,
            'float32',
            (options.seed ?? 1) * 1000 + s,
          );
          const { gradient } = graph.layerGradient(
            tf.add(input, noise) as tf.Tensor4D,
            'input',
            target,
          );
          return tf.max(tf.abs(gradient), 3, true);
        });
        const next = tf.add(total, magnitude);
        magnitude.dispose();
        total.dispose();
        total = next;
      }
      return tf.div(total, SAMPLES) as tf.Tensor4D;
    }),
};
