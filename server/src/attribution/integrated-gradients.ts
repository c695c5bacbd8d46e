import * as tf from '@tensorflow/tfjs';
import type { AttributionMethod } from './types';

const STEPS = 16;

/**
 * Integrated gradients (Sundararajan 2017) from an all-air baseline (every window at 0): the
 * input times the mean gradient along the straight path from baseline to input (midpoint rule,
 * 16 steps), summed over channels; the positive part (evidence for the class).
 */
export const integratedGradients: AttributionMethod = {
  name: 'integrated-gradients',
  description: 'integrated gradients from an all-air baseline',
  explain: (graph, input, target) =>
    tf.tidy(() => {
      let total: tf.Tensor = tf.zerosLike(input);
      for (let s = 0; s < STEPS; s++) {
        const alpha = (s + 0.5) / STEPS;
        // Each step in its own scope: a gradient's intermediates are large.
        const gradient = tf.tidy(
          () => graph.layerGradient(tf.mul(input, alpha) as tf.Tensor4D, 'input', target).gradient,
        );
        const next = tf.add(total, gradient);
        gradient.dispose();
        total.dispose();
        total = next;
      }
      return tf.relu(tf.sum(tf.mul(input, tf.div(total, STEPS)), 3, true)) as tf.Tensor4D;
    }),
};
