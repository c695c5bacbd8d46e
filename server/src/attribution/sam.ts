import * as tf from '@tensorflow/tfjs';
import { MAP_LAYERS } from '../model/inference/phase-graph';
import type { AttributionMethod } from './types';
import { toInputGrid } from './upsample';

/**
 * Saliency activation map (Philbrick 2018), as PhaseLens reads it (the paper's exact formula is
 * not available here): the element-wise product of a layer's activations and the class-score
 * gradient with respect to them, rectified and summed over channels, brought to the input grid.
 * Unlike Grad-CAM it keeps the spatial detail of the gradient instead of averaging it per
 * channel. At the input it is rectified gradient x input. Captum's LayerGradientXActivation,
 * rectified.
 */
export const sam: AttributionMethod = {
  name: 'sam',
  description: 'saliency activation map: activations times their gradient, rectified',
  layers: MAP_LAYERS,
  defaultLayer: 'input',
  explain: (graph, input, target, options = {}) =>
    tf.tidy(() => {
      const { activations, gradient } = graph.layerGradient(
        input,
        options.layer ?? 'input',
        target,
      );
      return toInputGrid(tf.sum(tf.relu(tf.mul(activations, gradient)), 3));
    }),
};
