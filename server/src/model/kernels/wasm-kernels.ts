import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import {
  conv2DViaWinograd,
  fusedConv2DViaWinograd,
  winogradFilterGradient,
  winogradFilterGradientApplies,
} from './winograd';
import { runWasmKernel } from './instance';
import { maxPoolGradInOnePass } from './max-pool-gradient';

/**
 * Training kernels the tfjs wasm backend lacks, built from kernels it has.
 *
 * Conv2DBackpropFilter: the filter gradient of a convolution is itself a convolution. With the
 * input's channels as the batch and the output gradient as the filter,
 *   dW[kh, kw, ci, co] = sum_{b,h,w} x[b, h*s + kh - pt, w*s + kw - pl, ci] * dy[b, h, w, co]
 * is a forward convolution of x' = x^T[ci, H, W, b] by dy' = dy^T[Ho, Wo, b, co] dilated by the
 * stride s, read out at [ci, kh, kw, co]. The wasm forward convolution (XNNPACK) makes this
 * hundreds of times faster than the cpu backend's loop (measured: 98 ms against 48 s for one
 * 16 x 64 x 64 x 16 -> 32 gradient).
 */

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** A stride or filter size attribute as [height, width]. */
const pair = (v: [number, number] | number): [number, number] =>
  typeof v === 'number' ? [v, v] : v;

const run = runWasmKernel;

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as BackpropFilterAttrs;
  if (a.dataFormat === 'NCHW')
    throw new Error('Conv2DBackpropFilter on wasm: NCHW is not supported');
  const [kh, kw] = a.filterShape;
  // 3x3 stride-1 'same' (every layer of the phase network): the Winograd kernel.
  if (winogradFilterGradientApplies(x, dy, a)) return winogradFilterGradient(backend, x, dy);
  const strides = pair(a.strides);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const [, height, width] = x.shape;
  const [, outHeight, outWidth] = dy.shape;
  const { top, left } = info.padInfo;
  // Padding after the input so the forward convolution yields at least kh x kw outputs.
  const bottom = Math.max(0, kh - 1 + (outHeight - 1) * strides[0] - (height + top - 1));
  const right = Math.max(0, kw - 1 + (outWidth - 1) * strides[1] - (width + left - 1));
  const disposable: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => {
    disposable.push(t);
    return t;
  };
  const b = backend as { disposeData(id: object): void };
  try {
    const xt = keep(run('Transpose', backend, { x }, { perm: [3, 1, 2, 0] }));
    const dyt = keep(run('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }));
    const full = keep(paddedConv2D(backend, xt, dyt, [top, bottom, left, right], strides));
    const [ci, fh, fw, co] = full.shape;
    const cropped =
      fh === kh && fw === kw
        ? full
        : keep(run('Slice', backend, { x: full }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] }));
    return run('Transpose', backend, { x: cropped }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of disposable) b.disposeData(t.dataId);
  }
};

/** A stride-1 NHWC convolution with explicit padding (top, bottom, left, right) on the backend. */
function paddedConv2D(
  backend: Parameters<KernelFunc>[0]['backend'],
  x: TensorInfo,
  filter: TensorInfo,
  [top, bottom, left, right]: [number, number, number, number],
  dilations: [number, number],
): TensorInfo {
  return run(
    'Conv2D',
    backend,
    { x, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations,
    },
  );
}

interface BackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * Conv2DBackpropInput for stride 1: the input gradient of a stride-1 convolution is the forward
 * convolution of dy with the filter rotated by 180 degrees and its channels swapped, padded by
 * k - 1 - pad. The wasm backend's own kernel is a plain loop (800 ms of a 2.4 s training step);
 * XNNPACK's forward convolution does the same work about ten times faster. Other strides go to
 * the original kernel.
 */
function conv2DBackpropInputVia(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as BackpropInputAttrs;
    const strides = pair(a.strides);
    if (a.dataFormat === 'NCHW' || strides[0] !== 1 || strides[1] !== 1) return original(args);
    const [kh, kw] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const [, height, width] = a.inputShape;
    const [, outHeight, outWidth] = dy.shape;
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = height - outHeight - top + kh - 1;
    const right = width - outWidth - left + kw - 1;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return original(args);
    const b = backend as { disposeData(id: object): void };
    const flipped = run('Reverse', backend, { x: filter }, { dims: [0, 1] });
    const swapped = run('Transpose', backend, { x: flipped }, { perm: [0, 1, 3, 2] });
    try {
      return paddedConv2D(backend, dy, swapped, [top, bottom, left, right], [1, 1]);
    } finally {
      b.disposeData(flipped.dataId);
      b.disposeData(swapped.dataId);
    }
  };
}

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Scalars the kernels below use, made once (kept for the process). */
const constants = new Map<number, tf.Scalar>();
const constant = (v: number): tf.Scalar => {
  let c = constants.get(v);
  if (!c) constants.set(v, (c = tf.keep(tf.scalar(v))));
  return c;
};

/**
 * MaxPoolGrad as a scatter: the forward pass's argmax (MaxPoolWithArgmax) says where each output
 * came from, and dy is added there (ScatterNd sums overlapping windows, as the gradient does).
 * Twice as fast as the wasm backend's own loop, with the same results, including that loop's
 * quirk: a window with no positive value passes no gradient (the cpu backend passes it to the
 * window's first maximum). Behind a ReLU, as in the phase network, the two agree: such a
 * window's ReLU gradient is zero anyway.
 */
function maxPoolGradViaArgmax(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const a = attrs as unknown as MaxPoolGradAttrs;
    if (a.dimRoundingMode !== undefined) return original(args);
    const size = input.shape.reduce((p, v) => p * v, 1);
    const count = dy.shape.reduce((p, v) => p * v, 1);
    const b = backend as { disposeData(id: object): void };
    const disposable: TensorInfo[] = [];
    try {
      const [result, indexes] = run(
        'MaxPoolWithArgmax',
        backend,
        { x: input },
        { filterSize: a.filterSize, strides: a.strides, pad: a.pad, includeBatchInIndex: true },
      ) as unknown as TensorInfo[];
      disposable.push(result, indexes);
      // The wasm kernel starts each window's maximum at FLT_MIN: windows with no positive value
      // come back as FLT_MIN at index 0. They pass nothing, as in the wasm loop (index 0 would
      // otherwise collect their gradients).
      const positive = run('Greater', backend, { a: result, b: constant(2e-38) }, {});
      const mask = run('Cast', backend, { x: positive }, { dtype: 'float32' });
      const masked = run('Multiply', backend, { a: dy, b: mask }, {});
      disposable.push(positive, mask);
      const indices = run('Reshape', backend, { x: indexes }, { shape: [count, 1] });
      const updates = run('Reshape', backend, { x: masked }, { shape: [count] });
      disposable.push(masked, indices, updates);
      const flat = run('ScatterNd', backend, { indices, updates }, { shape: [size] });
      disposable.push(flat);
      return run('Reshape', backend, { x: flat }, { shape: input.shape });
    } finally {
      for (const t of disposable) b.disposeData(t.dataId);
    }
  };
}

/**
 * MaxPoolGrad for 2x2 windows with stride 2 (the phase network's pooling) from whole-tensor
 * kernels instead of a scatter: views of the input as [n*h/2, 2, w/2, 2, c] and of the pooled
 * output as [n*h/2, 1, w/2, 1, c] broadcast each window's maximum over it, a Sub and a Step
 * mark the positions that reach it, and dy, divided by the number of such positions, is
 * multiplied in the same way. About 3x faster than the scatter. Tied maxima share the gradient
 * (a valid subgradient; the cpu backend gives it all to the first), which after a ReLU happens
 * only in windows of zeros, whose ReLU gradient is zero anyway. Other pools take the scatter.
 */
function maxPoolGradWindowWise(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input, output } = inputs as {
      dy: TensorInfo;
      input: TensorInfo;
      output: TensorInfo;
    };
    const a = attrs as unknown as MaxPoolGradAttrs;
    const [n, h, w, c] = input.shape;
    const two = (v: [number, number] | number): boolean => pair(v)[0] === 2 && pair(v)[1] === 2;
    if (
      !two(a.filterSize) ||
      !two(a.strides) ||
      !(a.pad === 'valid' || a.pad === 0) ||
      a.dimRoundingMode !== undefined ||
      h % 2 !== 0 ||
      w % 2 !== 0
    )
      return fallback(args);
    const b = backend as { disposeData(id: object): void };
    const disposable: TensorInfo[] = [];
    const k = (
      name: string,
      kernelInputs: Record<string, TensorInfo>,
      kernelAttrs: object = {},
    ) => {
      const t = run(name, backend, kernelInputs, kernelAttrs);
      disposable.push(t);
      return t;
    };
    const windows = [n * (h / 2), 2, w / 2, 2, c];
    const perWindow = [n * (h / 2), 1, w / 2, 1, c];
    try {
      const x5 = k('Reshape', { x: input }, { shape: windows });
      const y5 = k('Reshape', { x: output }, { shape: perWindow });
      // 1 where the input equals its window's maximum (the gap is never negative).
      const gap = k('Sub', { a: y5, b: x5 });
      const hit = k('Sub', { a: constant(1), b: k('Step', { x: gap }, { alpha: 0 }) });
      const hit4 = k('Reshape', { x: hit }, { shape: input.shape });
      const pooling = { filterSize: 2, strides: 2, pad: 'valid' };
      const count = k('Multiply', { a: k('AvgPool', { x: hit4 }, pooling), b: constant(4) });
      // count + (count < 1): a window without hits (NaN input) divides by 1, not 0.
      const lone = k('Step', { x: k('Sub', { a: constant(1), b: count }) }, { alpha: 0 });
      const share = k('RealDiv', { a: dy, b: k('Add', { a: count, b: lone }) });
      const share5 = k('Reshape', { x: share }, { shape: perWindow });
      const g = k('Multiply', { a: hit, b: share5 });
      return run('Reshape', backend, { x: g }, { shape: input.shape });
    } finally {
      for (const t of disposable) b.disposeData(t.dataId);
    }
  };
}

/**
 * Identity as a second reference to the same memory, as the cpu backend and wasm's own Reshape
 * do, instead of a copy. tfjs calls it to save every tensor a gradient needs (221 copies, 43 ms
 * of a 700 ms training step); tensors are immutable, so sharing is safe.
 */
function identityByReference(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

export const wasmTrainingKernels: KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
];

let registered = false;

/** Registers the kernels above once (before or after the wasm backend initialises). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const k of wasmTrainingKernels) {
    if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  }
  const replace = (name: string, via: (original: KernelFunc) => KernelFunc): void => {
    const original = tf.getKernel(name, 'wasm');
    if (!original) return;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: via(original.kernelFunc) });
  };
  replace('Conv2DBackpropInput', conv2DBackpropInputVia);
  replace('MaxPoolGrad', (original) =>
    maxPoolGradInOnePass(maxPoolGradWindowWise(maxPoolGradViaArgmax(original))),
  );
  replace('Identity', identityByReference);
  replace('Conv2D', conv2DViaWinograd);
  replace('FusedConv2D', fusedConv2DViaWinograd);
  registered = true;
}
