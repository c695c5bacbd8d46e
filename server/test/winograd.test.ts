import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selectBackend } from '../src/model/inference/backend';
import { winogradApplies, winogradStats } from '../src/model/kernels/winograd';

/** Deterministic values in [-1, 1). */
function random(shape: number[], seed: number): tf.Tensor {
  let s = seed;
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
  return tf.tensor(data, shape);
}

/** Runs `f` on wasm and on the cpu backend (the reference); returns both outputs' values. */
async function both(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend('wasm');
  const wasm = tf.tidy(f).dataSync() as Float32Array;
  await tf.setBackend('cpu');
  const cpu = tf.tidy(f).dataSync() as Float32Array;
  await tf.setBackend('wasm');
  return [wasm, cpu];
}

function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let scale = 1e-6;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
}

/** [n, h, w, cin, cout]: the network's shapes, odd and non-square sizes (partial tiles), one tile. */
const SHAPES: number[][] = [
  [2, 64, 64, 16, 32],
  [3, 16, 16, 64, 128],
  [1, 8, 8, 128, 128],
  [2, 7, 9, 4, 8],
  [1, 5, 3, 8, 16],
  [1, 1, 1, 4, 8],
  [1, 2, 2, 12, 24],
  [2, 12, 10, 16, 3], // the first layer's input gradient: 3 out-channels, padded to 8
  [1, 5, 7, 8, 12],
];

/** Smaller: the cpu backend's filter gradient is a plain loop (about 1.5 M products a second). */
const FILTER_GRADIENT_SHAPES: number[][] = [
  [2, 12, 12, 16, 32],
  [1, 4, 4, 64, 128],
  [1, 2, 2, 128, 128],
  [2, 7, 9, 4, 8],
  [1, 5, 3, 8, 16],
  [1, 1, 1, 4, 8],
  [2, 9, 7, 3, 16],
  [1, 6, 6, 5, 8],
];

describe('Winograd F(2x2, 3x3) convolution on wasm, against the cpu backend', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined, 'wasm');
  });

  it.each(SHAPES)(
    'fused with bias and ReLU, and plain, for %i x %i x %i x %i -> %i',
    async (n, h, w, cin, cout) => {
      const x = (): tf.Tensor4D => random([n, h, w, cin], n * 7 + h) as tf.Tensor4D;
      const filter = (): tf.Tensor4D => random([3, 3, cin, cout], cin + cout) as tf.Tensor4D;
      const bias = (): tf.Tensor1D => random([cout], 5) as tf.Tensor1D;
      const before = winogradStats.convolutions;
      const fused = await both(() =>
        tf.fused.conv2d({
          x: x(),
          filter: filter(),
          strides: 1,
          pad: 'same',
          bias: bias(),
          activation: 'relu',
        }),
      );
      expect(relativeError(...fused)).toBeLessThan(1e-5);
      // The ReLU really cut: some outputs are zero and some are not.
      expect(fused[1].some((v) => v === 0) && fused[1].some((v) => v > 0)).toBe(true);
      const linear = await both(() =>
        tf.fused.conv2d({ x: x(), filter: filter(), strides: 1, pad: 'same' }),
      );
      expect(relativeError(...linear)).toBeLessThan(1e-5);
      expect(linear[1].some((v) => v < 0)).toBe(true);
      const plain = await both(() => tf.conv2d(x(), filter(), 1, 'same'));
      expect(relativeError(...plain)).toBeLessThan(1e-5);
      // Explicit one-pixel padding is 'same' for a 3x3 filter (the input-gradient path uses it).
      const explicit = await both(() =>
        tf.conv2d(x(), filter(), 1, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
      );
      expect(relativeError(...explicit)).toBeLessThan(1e-5);
      expect(winogradStats.convolutions - before).toBe(4);
    },
  );

  it('input gradients of a convolution match the cpu backend (they run as Winograd forward convolutions)', async () => {
    const loss = (): tf.Tensor => {
      const x = random([2, 12, 10, 16], 3);
      const filter = random([3, 3, 16, 8], 4) as tf.Tensor4D;
      return tf.grad((input: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(input as tf.Tensor4D, filter, 1, 'same'))),
      )(x);
    };
    const before = winogradStats.convolutions;
    const [wasm, cpu] = await both(loss);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
    expect(winogradStats.convolutions - before).toBe(2); // forward and input gradient
  });

  it.each(FILTER_GRADIENT_SHAPES)(
    'filter gradients match the cpu backend for %i x %i x %i x %i -> %i (odd channel counts padded)',
    async (n, h, w, cin, cout) => {
      const gradient = (): tf.Tensor => {
        const x = random([n, h, w, cin], 11) as tf.Tensor4D;
        const target = random([n, h, w, cout], 12);
        return tf.grad((filter: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(x, filter as tf.Tensor4D, 1, 'same'), target)),
        )(random([3, 3, cin, cout], 13));
      };
      const before = winogradStats.filterGradients;
      const [wasm, cpu] = await both(gradient);
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
      expect(winogradStats.filterGradients - before).toBe(1);
    },
  );

  it('leaves other shapes to XNNPACK, with the same results', async () => {
    const base = { filterShape: [3, 3, 16, 32], strides: 1, dilations: 1, pad: 'same' };
    const input = { dataFormat: 'NHWC', inputShape: [1, 8, 8, 16] };
    expect(winogradApplies({ ...base, ...input })).toBe(true);
    expect(winogradApplies({ ...base, ...input, filterShape: [3, 3, 3, 16] })).toBe(false);
    expect(winogradApplies({ ...base, ...input, filterShape: [5, 5, 16, 32] })).toBe(false);
    expect(winogradApplies({ ...base, ...input, strides: [2, 2] })).toBe(false);
    expect(winogradApplies({ ...base, ...input, dilations: 2 })).toBe(false);
    expect(winogradApplies({ ...base, ...input, pad: 'valid' })).toBe(false);
    expect(winogradApplies({ ...base, ...input, dataFormat: 'NCHW' })).toBe(false);
    const before = winogradStats.convolutions;
    const firstLayer = await both(() =>
      tf.fused.conv2d({
        x: random([2, 9, 9, 3], 1) as tf.Tensor4D,
        filter: random([3, 3, 3, 16], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        activation: 'relu',
      }),
    );
    expect(relativeError(...firstLayer)).toBeLessThan(1e-5);
    const strided = await both(() =>
      tf.conv2d(
        random([1, 8, 8, 16], 1) as tf.Tensor4D,
        random([3, 3, 16, 32], 2) as tf.Tensor4D,
        2,
        'same',
      ),
    );
    expect(relativeError(...strided)).toBeLessThan(1e-5);
    expect(winogradStats.convolutions).toBe(before);
    // A filter gradient with out-channels not a multiple of 8 keeps the forward-convolution way.
    const gradientsBefore = winogradStats.filterGradients;
    const x = random([1, 5, 5, 8], 3) as tf.Tensor4D;
    const oddGradient = await both(() =>
      tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'))))(
        random([3, 3, 8, 12], 4),
      ),
    );
    expect(relativeError(...oddGradient)).toBeLessThan(1e-5);
    expect(winogradStats.filterGradients).toBe(gradientsBefore);
  });

  it('steps aside for tfjs when PHASELENS_WASM_KERNELS=off (to compare against it)', async () => {
    const before = winogradStats.convolutions;
    process.env.PHASELENS_WASM_KERNELS = 'off';
    try {
      const off = await both(() =>
        tf.conv2d(
          random([1, 6, 6, 8], 1) as tf.Tensor4D,
          random([3, 3, 8, 16], 2) as tf.Tensor4D,
          1,
          'same',
        ),
      );
      expect(relativeError(...off)).toBeLessThan(1e-5);
      expect(winogradStats.convolutions).toBe(before);
    } finally {
      delete process.env.PHASELENS_WASM_KERNELS;
    }
    // And back on once unset.
    tf.tidy(() => {
      tf.conv2d(
        random([1, 6, 6, 8], 1) as tf.Tensor4D,
        random([3, 3, 8, 16], 2) as tf.Tensor4D,
        1,
        'same',
      );
    });
    expect(winogradStats.convolutions).toBe(before + 1);
  });

  it('keeps no tensor and no memory of its own between calls', async () => {
    const x = random([4, 32, 32, 32], 1) as tf.Tensor4D;
    const filter = random([3, 3, 32, 64], 2) as tf.Tensor4D;
    const run = (): void => tf.dispose(tf.conv2d(x, filter, 1, 'same'));
    run();
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    // Scratch (0.3 MB a call here) goes back to the backend's allocator: 300 calls do not grow
    // the heap by the 90 MB a leak would take.
    const memory = (
      tf.backend() as unknown as { wasm: { asm: { memory: { buffer: ArrayBuffer } } } }
    ).wasm.asm.memory;
    const size = memory.buffer.byteLength;
    for (let i = 0; i < 300; i++) run();
    expect(memory.buffer.byteLength).toBe(size);
    tf.dispose([x, filter]);
  });
});

describe('the embedded kernel', () => {
  it('is what scripts/build-kernels.sh compiles from kernels/winograd.c', async () => {
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-kernels-'));
    const root = path.join(__dirname, '..', '..');
    execFileSync('bash', [path.join(root, 'scripts', 'build-kernels.sh'), out]);
    const built = await fs.readFile(path.join(out, 'winograd-wasm.ts'), 'utf8');
    const committed = await fs.readFile(
      path.join(root, 'server', 'src', 'model', 'kernels', 'winograd-wasm.ts'),
      'utf8',
    );
    expect(built).toBe(committed);
    await fs.rm(out, { recursive: true, force: true });
  });
});
