import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import {
  addressOf,
  KernelModule,
  runWasmKernel,
  withScratch,
  type WasmBackendInternals,
} from './instance';
import { WINOGRAD_WASM_BASE64 } from './winograd-wasm';

/**
 * 3x3 stride-1 'same' convolutions on the wasm backend by Winograd F(2x2, 3x3)
 * (`winograd.c`): 16 products per 2x2 output tile and channel pair instead of XNNPACK's
 * 36. Every convolution of the phase network but the first (3 input channels) has this shape, in
 * inference, in attribution maps (forward and input gradient) and in training (forward and input
 * gradient), so it is where their time goes. The filter gradient of every layer, the first
 * included (its input padded to 4 channels), is computed on the same tiles.
 *
 * The kernel runs in the backend's own memory: it reads the input tensors and writes the output
 * tensor in place, with its scratch from the backend's allocator. Other shapes keep XNNPACK.
 */

interface WinogradExports {
  filter_transform(filter: number, u: number, cin: number, cout: number): void;
  convolve(
    x: number,
    u: number,
    bias: number,
    out: number,
    v: number,
    m: number,
    n: number,
    h: number,
    w: number,
    cin: number,
    cout: number,
    coutOut: number,
    block: number,
    relu: number,
  ): void;
  filter_gradient(
    x: number,
    dy: number,
    dw: number,
    acc: number,
    v: number,
    d: number,
    n: number,
    h: number,
    w: number,
    cin: number,
    cinOut: number,
    cout: number,
    block: number,
  ): void;
}

/** Floats of scratch per tile block (transformed input and products): 128 KiB, in cache (measured flat from 32 to 512 KiB). */
const BLOCK_FLOATS = 32 * 1024;

const kernels = new KernelModule<WinogradExports>(WINOGRAD_WASM_BASE64);

export interface WinogradShape {
  filterShape: number[];
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: unknown;
  dataFormat: string;
  inputShape: number[];
}

const ones = (v: number | [number, number]): boolean =>
  typeof v === 'number' ? v === 1 : v[0] === 1 && v[1] === 1;

/** Whether a convolution has the one shape the kernel computes. */
export function winogradApplies(s: WinogradShape): boolean {
  if (!kernels.available) return false;
  const [kh, kw, cin, cout] = s.filterShape;
  if (kh !== 3 || kw !== 3 || cin % 4 !== 0 || cout < 1) return false;
  if (s.dataFormat !== 'NHWC' && s.dataFormat !== 'channelsLast') return false;
  if (!ones(s.strides) || !ones(s.dilations) || s.inputShape.length !== 4) return false;
  if (s.pad === 'same') return true;
  // Explicit padding of one pixel on every side is 'same' for a 3x3 filter.
  const p = s.pad as number[][];
  return (
    Array.isArray(p) &&
    p.length === 4 &&
    [p[1], p[2]].every((q) => q[0] === 1 && q[1] === 1) &&
    [p[0], p[3]].every((q) => q[0] === 0 && q[1] === 0)
  );
}

/** `t` with zeros appended along its last axis up to `size` (a new tensor of the backend). */
function padLastAxis(backend: WasmBackendInternals, t: TensorInfo, size: number): TensorInfo {
  const paddings = t.shape.map((_, i) =>
    i === t.shape.length - 1 ? [0, size - t.shape[i]] : [0, 0],
  );
  return runWasmKernel('PadV2', backend, { x: t }, { paddings, constantValue: 0 });
}

/** `t`'s last axis padded with zeros to `size`, the padded copy kept in `made` for disposal. */
function padded(
  backend: WasmBackendInternals,
  t: TensorInfo,
  size: number,
  made: TensorInfo[],
): TensorInfo {
  if (t.shape[t.shape.length - 1] === size) return t;
  const p = padLastAxis(backend, t, size);
  made.push(p);
  return p;
}

/**
 * Runs `compute` on a new output tensor with the scratch a tile block needs: 16 transformed
 * cin x cout matrices (the filter, or the summed filter gradient) and `block` tiles' transformed
 * input (cin) and products (cout). The output is disposed if `compute` fails; padded copies in
 * `made` are disposed either way.
 */
function withTileScratch(
  backend: WasmBackendInternals,
  what: string,
  outShape: number[],
  cin: number,
  cout: number,
  made: TensorInfo[],
  compute: (
    out: TensorInfo,
    matrices: number,
    input: number,
    products: number,
    block: number,
  ) => void,
): TensorInfo {
  const block = Math.max(4, Math.floor(BLOCK_FLOATS / (16 * (cin + cout)) / 4) * 4);
  const out = backend.makeOutput(outShape, 'float32');
  try {
    withScratch(backend, 4 * 16 * (cin * cout + block * (cin + cout)), what, (matrices) => {
      const input = matrices + 4 * 16 * cin * cout;
      compute(out, matrices, input, input + 4 * 16 * block * cin, block);
    });
    return out;
  } catch (error) {
    backend.disposeData(out.dataId); // no half-made tensor left behind
    throw error;
  } finally {
    for (const p of made) backend.disposeData(p.dataId);
  }
}

/** How many convolutions and filter gradients the kernels have run (tests check the path taken). */
export const winogradStats = { convolutions: 0, filterGradients: 0 };

/**
 * Runs the convolution of `x` [n, h, w, cin] by `filter` [3, 3, cin, cout], plus `bias` [cout]
 * and a ReLU where asked; returns the output [n, h, w, cout] as a new tensor of the backend.
 */
export function winogradConv(
  backendObject: unknown,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo {
  const backend = backendObject as WasmBackendInternals;
  const kernel = kernels.on(backend);
  const [n, h, w, cin] = x.shape;
  const coutOut = filter.shape[3];
  // The products run eight out-channels at a time: a filter with fewer (an input gradient's 3)
  // gets zero channels, which are computed and never written.
  const cout = Math.ceil(coutOut / 8) * 8;
  const at = (t: TensorInfo): number => addressOf(backend, t);
  const made: TensorInfo[] = [];
  const out = withTileScratch(
    backend,
    'winograd convolution',
    [n, h, w, coutOut],
    cin,
    cout,
    made,
    (o, u, v, m, block) => {
      kernel.filter_transform(at(padded(backend, filter, cout, made)), u, cin, cout);
      kernel.convolve(
        at(x),
        u,
        bias ? at(padded(backend, bias, cout, made)) : 0,
        at(o),
        v,
        m,
        n,
        h,
        w,
        cin,
        cout,
        coutOut,
        block,
        relu ? 1 : 0,
      );
    },
  );
  winogradStats.convolutions++;
  return out;
}

/** Whether Conv2DBackpropFilter of `x` and `dy` with these attributes takes the kernel below. */
export function winogradFilterGradientApplies(
  x: TensorInfo,
  dy: TensorInfo,
  attrs: {
    filterShape: number[];
    strides: number | [number, number];
    pad: unknown;
    dataFormat: string;
  },
): boolean {
  const [kh, kw, cin, cout] = attrs.filterShape;
  return (
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    cout % 8 === 0 &&
    winogradApplies({
      ...attrs,
      dilations: 1,
      // Input channels are padded to a multiple of 4 below (the first layer's 3).
      filterShape: [kh, kw, Math.ceil(cin / 4) * 4, cout],
      inputShape: x.shape,
    })
  );
}

/**
 * The filter gradient [3, 3, cin, cout] of the convolution of `x` [n, h, w, cin] whose output
 * gradient is `dy` [n, h, w, cout]. Input channels beyond a multiple of 4 are padded with zeros,
 * computed and dropped.
 */
export function winogradFilterGradient(
  backendObject: unknown,
  x: TensorInfo,
  dy: TensorInfo,
): TensorInfo {
  const backend = backendObject as WasmBackendInternals;
  const kernel = kernels.on(backend);
  const [n, h, w, cinOut] = x.shape;
  const cin = Math.ceil(cinOut / 4) * 4;
  const cout = dy.shape[3];
  const at = (t: TensorInfo): number => addressOf(backend, t);
  const made: TensorInfo[] = [];
  const out = withTileScratch(
    backend,
    'winograd filter gradient',
    [3, 3, cinOut, cout],
    cin,
    cout,
    made,
    (o, acc, v, d, block) => {
      const xs = padded(backend, x, cin, made);
      kernel.filter_gradient(at(xs), at(dy), at(o), acc, v, d, n, h, w, cin, cinOut, cout, block);
    },
  );
  winogradStats.filterGradients++;
  return out;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat: string;
  dilations: number | [number, number];
  activation?: string;
}

/** Conv2D on wasm: the Winograd kernel where it applies, else the original. */
export function conv2DViaWinograd(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs;
    if (
      x.dtype !== 'float32' ||
      !winogradApplies({ ...a, filterShape: filter.shape, inputShape: x.shape })
    )
      return original(args);
    return winogradConv(args.backend, x, filter, undefined, false);
  };
}

/** FusedConv2D on wasm: the Winograd kernel for bias + (linear | ReLU), else the original. */
export function fusedConv2DViaWinograd(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: TensorInfo;
      filter: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const a = args.attrs as unknown as ConvAttrs;
    const activation = a.activation ?? 'linear';
    const cout = filter.shape[3];
    if (
      x.dtype !== 'float32' ||
      preluActivationWeights ||
      (activation !== 'linear' && activation !== 'relu') ||
      (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== cout)) ||
      !winogradApplies({ ...a, filterShape: filter.shape, inputShape: x.shape })
    )
      return original(args);
    return winogradConv(args.backend, x, filter, bias, activation === 'relu');
  };
}
