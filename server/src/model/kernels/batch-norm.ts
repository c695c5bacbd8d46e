import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_WASM_BASE64 } from './batch-norm-wasm';
import {
  addressOf,
  inWasmMemory,
  KernelModule,
  withScratch,
  type WasmBackendInternals,
} from './instance';

interface BatchNormExports {
  channel_moments(
    x: number,
    mean: number,
    variance: number,
    scratch: number,
    m: number,
    c: number,
  ): void;
  normalise(
    x: number,
    mean: number,
    scale: number,
    beta: number,
    y: number,
    m: number,
    c: number,
  ): void;
  normalise_gradient(
    dy: number,
    x: number,
    mean: number,
    inv: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    scratch: number,
    m: number,
    c: number,
  ): void;
}

const kernels = new KernelModule<BatchNormExports>(BATCH_NORM_WASM_BASE64);

/** How many times each batch-norm kernel has run (tests check the path taken). */
export const batchNormStats = { moments: 0, normalise: 0, gradients: 0 };

/**
 * Whether the batch-norm kernels (`batch-norm.c`) run these tensors: the wasm backend, float32,
 * channels (the last axis) a multiple of 4. Elsewhere batch-norm.ts composes tfjs ops.
 */
export function batchNormKernelsApply(...tensors: tf.Tensor[]): boolean {
  return (
    kernels.available &&
    inWasmMemory(...tensors) &&
    tensors.every((t) => t.dtype === 'float32' && t.shape[t.rank - 1] % 4 === 0)
  );
}

function backend(): WasmBackendInternals {
  return tf.backend() as unknown as WasmBackendInternals;
}

function output(b: WasmBackendInternals, shape: number[]): [tf.Tensor, number] {
  const info = b.makeOutput(shape, 'float32');
  return [tf.engine().makeTensorFromTensorInfo(info), addressOf(b, info)];
}

/** The mean and biased variance of each channel of x, over all other axes, as [c] tensors. */
export function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const b = backend();
  const c = x.shape[x.rank - 1];
  const [mean, meanAt] = output(b, [c]);
  const [variance, varianceAt] = output(b, [c]);
  withScratch(b, 8 * c, 'batch norm', (scratch) =>
    kernels.on(b).channel_moments(addressOf(b, x), meanAt, varianceAt, scratch, x.size / c, c),
  );
  batchNormStats.moments++;
  return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** (x - mean) * scale + beta, per channel. */
export function normalise(
  x: tf.Tensor,
  mean: tf.Tensor,
  scale: tf.Tensor,
  beta: tf.Tensor,
): tf.Tensor {
  const b = backend();
  const c = x.shape[x.rank - 1];
  const [y, yAt] = output(b, x.shape);
  kernels
    .on(b)
    .normalise(
      addressOf(b, x),
      addressOf(b, mean),
      addressOf(b, scale),
      addressOf(b, beta),
      yAt,
      x.size / c,
      c,
    );
  batchNormStats.normalise++;
  return y;
}

/**
 * The gradient of y = (x - mean) * gamma * inv + beta with respect to x, gamma and beta, where
 * mean and inv = 1 / sigma are x's own batch statistics (the closed form of batch-norm.ts).
 */
export function normaliseGradient(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor,
  inv: tf.Tensor,
  gamma: tf.Tensor,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const b = backend();
  const c = x.shape[x.rank - 1];
  const [dx, dxAt] = output(b, x.shape);
  const [dgamma, dgammaAt] = output(b, [c]);
  const [dbeta, dbetaAt] = output(b, [c]);
  const at = (t: tf.Tensor): number => addressOf(b, t);
  withScratch(b, 8 * c, 'batch norm', (scratch) =>
    kernels
      .on(b)
      .normalise_gradient(
        at(dy),
        at(x),
        at(mean),
        at(inv),
        at(gamma),
        dxAt,
        dgammaAt,
        dbetaAt,
        scratch,
        x.size / c,
        c,
      ),
  );
  batchNormStats.gradients++;
  return [dx, dgamma as tf.Tensor1D, dbeta as tf.Tensor1D];
}
