import * as tf from '@tensorflow/tfjs';
import { MAP_LAYERS } from '../model/inference/phase-graph';
import type { AttributionMethod } from './types';
import { toInputGrid } from './upsample';

/**
 * Grad-CAM (Selvaraju 2017): channel weights alpha_k = spatial mean of dy^c/dA^k at a layer,
 * M = ReLU(sum_k alpha_k A^k), upsampled. At pool5 it is CAM up to a positive scale.
 */
export const gradcam: AttributionMethod = {
  name: 'gradcam',
  description: 'gradient-weighted class activation map at a convolutional layer',
  layers: MAP_LAYERS.filter((l) => l !== 'input'),
  defaultLayer: 'conv5',
  explain: (graph, input, target, options = {}) =>
    tf.tidy(() => {
      const { activations, gradient } = graph.layerGradient(
        input,
        options.layer ?? 'conv5',
        target,
      );
      const alpha = tf.mean(gradient, [1, 2], true);
      return toInputGrid(tf.relu(tf.sum(tf.mul(activations, alpha), 3)));
    }),
};
