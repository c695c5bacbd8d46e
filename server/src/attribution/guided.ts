import * as tf from '@tensorflow/tfjs';
import type { AttributionMethod } from './types';

/**
 * Guided backpropagation (Springenberg 2015): the input gradient with every ReLU passing back
 * only positive gradients, and only where its forward input was positive; the positive part,
 * maximum over channels.
 */
export const guided: AttributionMethod = {
  name: 'guided',
  description: 'guided backpropagation: input gradient through positive paths only',
  explain: (graph, input, target) =>
    tf.tidy(() => {
      const { gradient } = graph.layerGradient(input, 'input', target, { guided: true });
      return tf.max(tf.relu(gradient), 3, true) as tf.Tensor4D;
    }),
};
