import * as tf from '@tensorflow/tfjs';

/**
 * Batch normalisation with a closed-form training gradient.
 *
 * tfjs differentiates training-mode batch norm op by op (moments, then the FusedBatchNorm
 * gradient with Tile and five reductions), which took over half of a wasm training step. The
 * closed form needs two channel sums, done as matrix products with a row of ones (fast on
 * XNNPACK, where a Sum over the leading axes transposes first):
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
 * Channel sums of a [M, C] matrix, as [1, C]: m^T x ones[M, 1]. With the big matrix as the
 * left operand XNNPACK does not repack it (ones on the left cost 25 ms a call at 262144 x 16).
 */
const channelSum = (m: tf.Tensor2D): tf.Tensor2D =>
  tf.reshape(tf.matMul(m, tf.ones([m.shape[0], 1]), true, false), [1, m.shape[1]]);

/** y = batchnorm(x) over all axes but the last; returns y and the batch mean and variance. */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const channels = x.shape[x.rank - 1];
  const count = x.size / channels;
  // The statistics are computed outside the custom gradient (whose forward pass may not leak
  // tensors); their gradient is part of the closed form below.
  const flat = tf.reshape(x, [count, channels]) as tf.Tensor2D;
  const mean = tf.div(channelSum(flat), count) as tf.Tensor2D;
  const centred = tf.sub(flat, mean) as tf.Tensor2D;
  const variance = tf.div(channelSum(tf.square(centred)), count) as tf.Tensor2D;
  const inverse = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor2D;
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const xhat = tf.mul(tf.sub(tf.reshape(input, [count, channels]), mean), inverse);
    save([xhat, g, inverse]);
    return {
      value: tf.reshape(tf.add(tf.mul(xhat, g), b), input.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // Closure tensors are gone by the backward pass: only saved ones survive.
        const [xh, gam, inv] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
        const dyFlat = tf.reshape(dy, [count, channels]) as tf.Tensor2D;
        const dBeta = channelSum(dyFlat);
        const dGamma = channelSum(tf.mul(dyFlat, xh) as tf.Tensor2D);
        const correction = tf.add(tf.mul(xh, tf.div(dGamma, count)), tf.div(dBeta, count));
        const dx = tf.reshape(tf.mul(tf.sub(dyFlat, correction), tf.mul(gam, inv)), dy.shape);
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
