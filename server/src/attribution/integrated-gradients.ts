import * as tf from '@tensorflow/tfjs';
import type { PhaseGraph } from '../model/inference/phase-graph';
import type { AttributionMethod } from './types';

const STEPS = 16;

/**
 * Per-channel integrated gradients along the straight path from an all-air baseline (every
 * window at 0) to the input, by the midpoint rule: the input times the mean gradient. Their sum
 * over pixels and channels approaches the class score's rise from baseline to input
 * (completeness, Sundararajan 2017) as `steps` grows.
 */
export function integratedGradientsRaw(
  graph: PhaseGraph,
  input: tf.Tensor4D,
  target: number,
  steps = STEPS,
): tf.Tensor4D {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.zerosLike(input);
    for (let s = 0; s < steps; s++) {
      const alpha = (s + 0.5) / steps;
      // Each step in its own scope: a gradient's intermediates are large.
      const gradient = tf.tidy(
        () => graph.layerGradient(tf.mul(input, alpha) as tf.Tensor4D, 'input', target).gradient,
      );
      const next = tf.add(total, gradient);
      gradient.dispose();
      total.dispose();
      total = next;
    }
    return tf.mul(input, tf.div(total, steps)) as tf.Tensor4D;
  });
}

/**
 * Integrated gradients (Sundararajan 2017) from an all-air baseline, 16 steps, summed over
 * channels; the positive part (evidence for the class).
 */
export const integratedGradients: AttributionMethod = {
  name: 'integrated-gradients',
  description: 'integrated gradients from an all-air baseline',
  explain: (graph, input, target) =>
    tf.tidy(
      () => tf.relu(tf.sum(integratedGradientsRaw(graph, input, target), 3, true)) as tf.Tensor4D,
    ),
};
