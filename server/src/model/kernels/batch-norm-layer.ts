import * as tf from '@tensorflow/tfjs';
import { batchNormKernelsApply, channelMoments, normalise, normaliseGradient } from './batch-norm';

/**
 * Batch normalisation with a closed-form training gradient.
 *
 * tfjs differentiates training-mode batch norm op by op (moments, then the FusedBatchNorm
 * gradient with Tile and five reductions), which took over half of a wasm training step. The
 * closed form needs two channel sums (channelSum below: a Sum over the leading axes would
 * transpose first):
 *   dbeta = sum(dy), dgamma = sum(dy * xhat),
 *   dx = gamma / sqrt(var + eps) * (dy - (dbeta + xhat * dgamma) / M).
 * Inference is unchanged, and the layer saves as a standard Keras BatchNormalization.
 */

type BatchNormalizationLayer = ReturnType<typeof tf.layers.batchNormalization>;
type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type CallKwargs = Record<string, unknown>;

interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const Base = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as new (
  args?: LayerArgs,
) => BatchNormalizationLayer;

/**
 * Channel sums (over all axes but the last) as [1, C]. For NHWC tensors: an average pool over
 * each whole image, times its size, summed over the batch (XNNPACK's pooling reads the tensor
 * once: 1 ms at 16 x 128 x 128 x 16, where a matrix product with a transposed operand took 5).
 * Other ranks: m^T x ones[M, 1] on the flattened [M, C] matrix.
 */
function channelSum(t: tf.Tensor): tf.Tensor2D {
  const channels = t.shape[t.rank - 1];
  if (t.rank === 4) {
    const [n, h, w] = t.shape;
    const means = tf.reshape(tf.avgPool(t as tf.Tensor4D, [h, w], [h, w], 'valid'), [n, channels]);
    return tf.reshape(tf.mul(tf.sum(means, 0), h * w), [1, channels]);
  }
  const m = tf.reshape(t, [t.size / channels, channels]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(m, tf.ones([m.shape[0], 1]), true, false), [1, channels]);
}

/** y = batchnorm(x) over all axes but the last; returns y and the batch mean and variance. */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const channels = x.shape[x.rank - 1];
  if (batchNormKernelsApply(x, gamma, beta))
    return batchNormTrainingInKernels(x, gamma, beta, epsilon);
  const count = x.size / channels;
  // The statistics are computed outside the custom gradient (whose forward pass may not leak
  // tensors); their gradient is part of the closed form below.
  const flat = tf.reshape(x, [count, channels]) as tf.Tensor2D;
  const mean = tf.div(channelSum(x), count) as tf.Tensor2D;
  const centred = tf.sub(flat, mean) as tf.Tensor2D;
  const variance = tf.div(
    channelSum(tf.reshape(tf.square(centred), x.shape)),
    count,
  ) as tf.Tensor2D;
  const inverse = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor2D;
  // Centred values scale by gamma / sigma in one pass; xhat itself is never materialised.
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([centred, g, inverse]);
    return {
      value: tf.reshape(tf.add(tf.mul(centred, tf.mul(g, inverse)), b), input.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // Closure tensors are gone by the backward pass: only saved ones survive.
        const [cen, gam, inv] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
        const dyFlat = tf.reshape(dy, [count, channels]) as tf.Tensor2D;
        const dBeta = channelSum(dy);
        // sum(dy * xhat) = sum(dy * centred) / sigma
        const dGamma = tf.mul(channelSum(tf.reshape(tf.mul(dyFlat, cen), dy.shape)), inv);
        // dx = gamma / sigma * (dy - dbeta / M - xhat * dgamma / M), xhat = centred / sigma
        const perCentred = tf.neg(tf.mul(inv, tf.div(dGamma, count)));
        const shifted = tf.sub(tf.add(dyFlat, tf.mul(cen, perCentred)), tf.div(dBeta, count));
        const dx = tf.reshape(tf.mul(shifted, tf.mul(gam, inv)), dy.shape);
        return [dx, tf.reshape(dGamma, [channels]), tf.reshape(dBeta, [channels])];
      },
    };
  });
  const y = normalise(x, gamma, beta);
  return {
    y,
    mean: tf.reshape(mean, [channels]) as tf.Tensor1D,
    variance: tf.reshape(variance, [channels]) as tf.Tensor1D,
  };
}

/**
 * The same on wasm with the kernels of `batch-norm.c` beside it: moments in two passes,
 * normalisation in one, the gradient in two (about ten element-wise kernels each before).
 */
function batchNormTrainingInKernels(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const { mean, variance } = channelMoments(x);
  const inverse = tf.rsqrt(tf.add(variance, epsilon));
  const normalised = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([input, g, mean, inverse]);
    return {
      value: normalise(input, mean, tf.mul(g, inverse), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gam, mu, inv] = saved;
        return normaliseGradient(dy, xs, mu, inv, gam);
      },
    };
  });
  return { y: normalised(x, gamma, beta), mean, variance };
}

class FastBatchNormalization extends Base {
  // Saved and loaded as the standard layer: the topology stays plain Keras.
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallKwargs): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as BatchNormState;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = state.axis === -1 || state.axis === input.rank - 1;
    if (kwargs.training !== true || !lastAxis) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(
        input,
        state.gamma.read() as tf.Tensor1D,
        state.beta.read() as tf.Tensor1D,
        state.epsilon,
      );
      for (const [variable, value] of [
        [state.movingMean, mean],
        [state.movingVariance, variance],
      ] as const) {
        const old = variable.read();
        variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - state.momentum)));
      }
      return y;
    });
  }
}

/** A BatchNormalization layer whose training step is fast on wasm. */
export function batchNormalization(args: LayerArgs): BatchNormalizationLayer {
  return new FastBatchNormalization(args);
}
