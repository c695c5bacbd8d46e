import * as tf from '@tensorflow/tfjs';
import type { AttributionMethod } from '../attribution/types';

/**
 * Control maps for the specificity study: maps that know nothing of the network. A method that
 * does no better than these on a measure shows nothing on it about what the network uses.
 * - input: the input intensity itself (the three windows summed): what "x input" contributes
 *   on its own, since bright contrast-filled voxels carry phase whatever the network reads;
 * - edge: the gradient magnitude of the input (edge detectors pass some sanity checks);
 * - random: uniform noise, seeded per call, the floor of every measure.
 */
export const CONTROL_MAPS: Record<'input' | 'edge' | 'random', AttributionMethod> = {
  input: {
    name: 'control-input',
    description: 'control: the input intensity (windows summed)',
    explain: (_graph, input) => tf.tidy(() => tf.sum(input, 3, true) as tf.Tensor4D),
  },
  edge: {
    name: 'control-edge',
    description: 'control: Sobel gradient magnitude of the input',
    explain: (_graph, input) =>
      tf.tidy(() => {
        const intensity = tf.sum(input, 3, true) as tf.Tensor4D;
        const sx = tf.tensor4d([-1, 0, 1, -2, 0, 2, -1, 0, 1], [3, 3, 1, 1]);
        const sy = tf.tensor4d([-1, -2, -1, 0, 0, 0, 1, 2, 1], [3, 3, 1, 1]);
        const gx = tf.conv2d(intensity, sx, 1, 'same');
        const gy = tf.conv2d(intensity, sy, 1, 'same');
        return tf.sqrt(tf.add(tf.square(gx), tf.square(gy))) as tf.Tensor4D;
      }),
  },
  random: {
    name: 'control-random',
    description: 'control: uniform random values',
    explain: (_graph, input, _target, options = {}) =>
      tf.randomUniform(
        [input.shape[0], input.shape[1], input.shape[2], 1],
        0,
        1,
        'float32',
        options.seed ?? 1,
      ) as tf.Tensor4D,
  },
};
