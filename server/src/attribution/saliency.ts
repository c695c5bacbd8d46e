import * as tf from '@tensorflow/tfjs';
import type { AttributionMethod } from './types';

/** Saliency (Simonyan 2014): |dy^c/dx|, the maximum over input channels. */
export const saliency: AttributionMethod = {
  name: 'saliency',
  description: 'absolute input gradient of the class score',
  explain: (graph, input, target) =>
    tf.tidy(() => {
      const { gradient } = graph.layerGradient(input, 'input', target);
      return tf.max(tf.abs(gradient), 3, true) as tf.Tensor4D;
    }),
};
