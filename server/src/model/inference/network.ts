import * as tf from '@tensorflow/tfjs';
import { CHANNELS, INPUT_SIZE } from './preprocess';
import { PHASES } from '../../domain/phase';
import { batchNormalization } from '../kernels/batch-norm-layer';
import { conv2dLayer } from '../kernels/conv-layer';

export const CONV_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const;
export const LOGITS_LAYER = 'logits';

/**
 * The phase CNN: five blocks of 3x3 convolution (16-32-64-128-128 filters), ReLU and 2x2 max
 * pooling, then global average pooling and one dense layer, as CAM requires. The dense layer
 * gives the class scores before softmax (what the attribution maps differentiate); a separate
 * softmax layer gives probabilities. About 245k parameters at 128 x 128 x 3.
 */
export function buildPhaseNetwork(seed = 1): tf.LayersModel {
  const input = tf.input({ shape: [INPUT_SIZE, INPUT_SIZE, CHANNELS], name: 'slice' });
  let x: tf.SymbolicTensor = input;
  [16, 32, 64, 128, 128].forEach((filters, i) => {
    x = conv2dLayer({
      filters,
      kernelSize: 3,
      padding: 'same',
      name: CONV_LAYERS[i],
      // Batch normalisation follows, whose offset makes a bias redundant (and its gradient
      // a costly reduction).
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed: seed + i }),
    }).apply(x) as tf.SymbolicTensor;
    // Batch normalisation: without it the phase signal, a few vessels in a mostly empty field,
    // barely moved the averaged features and training stalled at chance.
    x = batchNormalization({ name: `bn${i + 1}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .activation({ activation: 'relu', name: `relu${i + 1}` })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: `pool${i + 1}` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({
      units: PHASES.length,
      name: LOGITS_LAYER,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 10 }),
    })
    .apply(x) as tf.SymbolicTensor;
  const probabilities = tf.layers
    .activation({ activation: 'softmax', name: 'probabilities' })
    .apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probabilities, name: 'phaselens-phase' });
}
