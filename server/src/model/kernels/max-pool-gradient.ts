import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { addressOf, KernelModule, type WasmBackendInternals } from './instance';
import { MAX_POOL_GRADIENT_WASM_BASE64 } from './max-pool-gradient-wasm';

interface PoolGradientExports {
  max_pool_gradient(
    x: number,
    y: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    mode: number,
  ): void;
}

const kernels = new KernelModule<PoolGradientExports>(MAX_POOL_GRADIENT_WASM_BASE64);

/** How many pooling gradients the kernel has run (tests check the path taken). */
export const poolGradientStats = { runs: 0 };

/** What the pooling's gradient folds in: nothing, the ReLU before it, or the guided ReLU. */
export type PoolGradientRule = 'plain' | 'rectified' | 'guided';
const MODES: Record<PoolGradientRule, number> = { plain: 0, rectified: 1, guided: 2 };

/** Whether the kernel takes a 2x2 stride-2 pooling of this input (shape [n, h, w, c]). */
export function poolGradientApplies(input: TensorInfo): boolean {
  const [, h, w, c] = input.shape;
  return (
    kernels.available &&
    input.shape.length === 4 &&
    input.dtype === 'float32' &&
    h % 2 === 0 &&
    w % 2 === 0 &&
    c % 4 === 0
  );
}

function run(
  backend: WasmBackendInternals,
  input: TensorInfo,
  pooled: TensorInfo,
  dy: TensorInfo,
  rule: PoolGradientRule,
): TensorInfo {
  const [n, h, w, c] = input.shape;
  const dx = backend.makeOutput(input.shape, 'float32');
  kernels
    .on(backend)
    .max_pool_gradient(
      addressOf(backend, input),
      addressOf(backend, pooled),
      addressOf(backend, dy),
      addressOf(backend, dx),
      n,
      h,
      w,
      c,
      MODES[rule],
    );
  poolGradientStats.runs++;
  return dx;
}

/**
 * The gradient of 2x2 stride-2 max pooling as a tensor, for a gradient function running on
 * the wasm backend (check poolGradientApplies first): `input` the pooling's input, `pooled` its
 * output, `dy` the output gradient.
 */
export function maxPoolGradient(
  input: tf.Tensor4D,
  pooled: tf.Tensor4D,
  dy: tf.Tensor4D,
  rule: PoolGradientRule,
): tf.Tensor4D {
  const backend = tf.backend() as unknown as WasmBackendInternals;
  return tf.engine().makeTensorFromTensorInfo(run(backend, input, pooled, dy, rule)) as tf.Tensor4D;
}

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: unknown;
  dimRoundingMode?: string;
}

const two = (v: [number, number] | number): boolean =>
  typeof v === 'number' ? v === 2 : v[0] === 2 && v[1] === 2;

/**
 * MaxPoolGrad on wasm for 2x2 stride-2 pooling of even-sized float32 maps with a multiple of 4
 * channels (every pooling of the phase network): `max-pool-gradient.c`, one pass. Other shapes
 * go to `fallback`.
 */
export function maxPoolGradInOnePass(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, input, output } = args.inputs as {
      dy: TensorInfo;
      input: TensorInfo;
      output: TensorInfo;
    };
    const a = args.attrs as unknown as MaxPoolGradAttrs;
    if (
      !poolGradientApplies(input) ||
      !two(a.filterSize) ||
      !two(a.strides) ||
      !(a.pad === 'valid' || a.pad === 0) ||
      a.dimRoundingMode !== undefined ||
      dy.dtype !== 'float32' ||
      output.dtype !== 'float32'
    )
      return fallback(args);
    return run(args.backend as unknown as WasmBackendInternals, input, output, dy, 'plain');
  };
}
