import * as tf from '@tensorflow/tfjs';
import type { AttributionMethod } from './types';
import { toInputGrid } from './upsample';

/**
 * Class activation map (Zhou 2016): the dense layer's class weights applied to the feature maps
 * that global average pooling reads, M = sum_k w_k^c A^k, rectified and upsampled.
 */
export const cam: AttributionMethod = {
  name: 'cam',
  description: 'class activation map: class weights times the last feature maps',
  explain: (graph, input, target) =>
    tf.tidy(() => {
      const features = graph.run(input, 'input', 'pool5') as tf.Tensor4D;
      const w = graph.classWeights(target);
      return toInputGrid(tf.relu(tf.sum(tf.mul(features, w), 3)));
    }),
};
