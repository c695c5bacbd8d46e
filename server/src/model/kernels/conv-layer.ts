import * as tf from '@tensorflow/tfjs';

/**
 * A Keras Conv2D layer whose convolution has a gradient per input, computed only where needed.
 *
 * Keras runs every convolution as tfjs's fused conv2d, whose custom gradient computes the input
 * gradient and the filter gradient together. The first layer's input is the image, which needs
 * no gradient: its input gradient was 23 ms of a 300 ms wasm training step. tfjs's plain conv2d
 * registers one gradient per input and the engine calls only those on a path to a variable.
 */

type Conv2DLayer = ReturnType<typeof tf.layers.conv2d>;
type LayerArgs = Parameters<typeof tf.layers.conv2d>[0];
type CallKwargs = Record<string, unknown>;

interface ConvState {
  kernel: tf.LayerVariable;
  useBias: boolean;
  strides: [number, number];
  padding: 'same' | 'valid' | 'causal';
  dataFormat: string;
  dilationRate: number | [number, number];
  activation: { getClassName(): string };
}

const Base = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 }))
  .constructor as new (args: LayerArgs) => Conv2DLayer;

class PlainGradientConv2D extends Base {
  // Saved and loaded as the standard layer: the topology stays plain Keras.
  static className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallKwargs): tf.Tensor | tf.Tensor[] {
    const s = this as unknown as ConvState;
    const dilations = typeof s.dilationRate === 'number' ? [s.dilationRate] : s.dilationRate;
    if (
      s.useBias ||
      s.activation.getClassName() !== 'linear' ||
      s.dataFormat !== 'channelsLast' ||
      s.padding === 'causal' ||
      dilations.some((d) => d !== 1)
    )
      return super.call(inputs, kwargs);
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.conv2d(input as tf.Tensor4D, s.kernel.read() as tf.Tensor4D, s.strides, s.padding);
  }
}

/** A Conv2D layer (no bias, no activation: batch normalisation follows) that trains faster. */
export function conv2dLayer(args: LayerArgs): Conv2DLayer {
  return new PlainGradientConv2D(args);
}
