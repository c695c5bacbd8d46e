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
  ): void;
}

const kernels = new KernelModule<PoolGradientExports>(MAX_POOL_GRADIENT_WASM_BASE64);

/** How many pooling gradients the kernel has run (tests check the path taken). */
export const poolGradientStats = { runs: 0 };

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
    const [n, h, w, c] = input.shape;
    if (
      !kernels.available ||
      !two(a.filterSize) ||
      !two(a.strides) ||
      !(a.pad === 'valid' || a.pad === 0) ||
      a.dimRoundingMode !== undefined ||
      h % 2 !== 0 ||
      w % 2 !== 0 ||
      c % 4 !== 0 ||
      [dy, input, output].some((t) => t.dtype !== 'float32')
    )
      return fallback(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const dx = backend.makeOutput(input.shape, 'float32');
    kernels
      .on(backend)
      .max_pool_gradient(
        addressOf(backend, input),
        addressOf(backend, output),
        addressOf(backend, dy),
        addressOf(backend, dx),
        n,
        h,
        w,
        c,
      );
    poolGradientStats.runs++;
    return dx;
  };
}
