import * as tf from '@tensorflow/tfjs';
import { checkBackendInternals } from '../src/model/kernels/instance';
import { winogradApplies } from '../src/model/kernels/winograd';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/model/kernels/wasm-kernels';
import { selectBackend } from '../src/model/inference/backend';
import { batchNormTraining } from '../src/model/kernels/batch-norm-layer';
import { poolGradientStats } from '../src/model/kernels/max-pool-gradient';
import { batchNormStats } from '../src/model/kernels/batch-norm';
import { buildPhaseNetwork } from '../src/model/inference/network';

/** Runs `f` on a backend with fresh copies of the inputs; returns the outputs' values. */
async function on(
  backend: 'cpu' | 'wasm',
  values: { data: Float32Array; shape: number[] }[],
  f: (...t: tf.Tensor[]) => tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() =>
    f(...values.map((v) => tf.tensor(v.data, v.shape))).map((t) => t.dataSync() as Float32Array),
  );
}

function random(shape: number[], seed: number): { data: Float32Array; shape: number[] } {
  let s = seed;
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
  return { data, shape };
}

function expectClose(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  let scale = 1e-6;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  expect(diff / scale).toBeLessThan(1e-4);
}

describe('wasm training kernels, checked against the cpu backend', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it.each<[string, number[], number[], number, 'same' | 'valid']>([
    ['3x3 same, stride 1', [2, 12, 10, 3], [3, 3, 3, 4], 1, 'same'],
    ['3x5 valid, stride 1', [1, 11, 13, 2], [3, 5, 2, 5], 1, 'valid'],
    ['1x1, stride 1', [3, 6, 6, 4], [1, 1, 4, 2], 1, 'same'],
    ['3x3 same, stride 2', [2, 13, 12, 3], [3, 3, 3, 4], 2, 'same'],
    ['5x5 valid, stride 2', [1, 15, 14, 2], [5, 5, 2, 3], 2, 'valid'],
    ['2x2 same, stride 2 (even kernel)', [2, 8, 9, 2], [2, 2, 2, 3], 2, 'same'],
  ])('Conv2DBackpropFilter: %s', async (_name, xShape, wShape, stride, pad) => {
    const inputs = [random(xShape, 7), random(wShape, 11)];
    const grad = (x: tf.Tensor, w: tf.Tensor): tf.Tensor[] => [
      tf.grad((ww: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, stride, pad),
            tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, stride, pad),
          ),
        ),
      )(w),
    ];
    const [cpu] = await on('cpu', inputs, grad);
    const [wasm] = await on('wasm', inputs, grad);
    expectClose(wasm, cpu);
  });

  it.each<[string, number[], number[], 'same' | 'valid']>([
    ['3x3 same', [2, 12, 10, 3], [3, 3, 3, 4], 'same'],
    ['3x5 valid', [1, 11, 13, 2], [3, 5, 2, 5], 'valid'],
    ['1x1', [3, 6, 6, 4], [1, 1, 4, 2], 'same'],
    ['4x4 same (even kernel, uneven padding)', [2, 9, 8, 2], [4, 4, 2, 3], 'same'],
  ])(
    'Conv2DBackpropInput as a forward convolution, stride 1: %s',
    async (_n, xShape, wShape, pad) => {
      const inputs = [random(xShape, 17), random(wShape, 19)];
      const grad = (x: tf.Tensor, w: tf.Tensor): tf.Tensor[] => [
        tf.grad((xx: tf.Tensor) => {
          const y = tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor4D, 1, pad);
          return tf.sum(tf.mul(y, y));
        })(x),
      ];
      const [cpu] = await on('cpu', inputs, grad);
      const [wasm] = await on('wasm', inputs, grad);
      expectClose(wasm, cpu);
    },
  );

  it.each<[string, number[], number, number, 'same' | 'valid']>([
    ['2x2 stride 2, 8 channels (one-pass kernel)', [2, 8, 10, 8], 2, 2, 'valid'],
    ['2x2 stride 2, 3 channels (window-wise kernels)', [2, 8, 10, 3], 2, 2, 'valid'],
    ['2x2 stride 2, odd size (scatter)', [1, 7, 9, 2], 2, 2, 'valid'],
    ['3x3 stride 2 same, overlapping windows (scatter)', [1, 9, 7, 2], 3, 2, 'same'],
    ['3x3 stride 1 valid (scatter)', [2, 6, 6, 2], 3, 1, 'valid'],
  ])('MaxPoolGrad behind a ReLU: %s', async (_n, shape, size, stride, pad) => {
    const inputs = [random(shape, 41)];
    const grad = (x: tf.Tensor): tf.Tensor[] => {
      const pooledShape = tf.maxPool(tf.relu(x) as tf.Tensor4D, size, stride, pad).shape;
      const dy = tf.randomNormal(pooledShape, 0, 1, 'float32', 43);
      const g = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(tf.relu(xx) as tf.Tensor4D, size, stride, pad), dy)),
      )(x);
      return [g];
    };
    const [cpu] = await on('cpu', inputs, grad);
    const [wasm] = await on('wasm', inputs, grad);
    expectClose(wasm, cpu);
    expect(Math.max(...Array.from(wasm).map(Math.abs))).toBeGreaterThan(0);
  });

  it('MaxPoolGrad, 2x2 stride 2: tied maxima share the gradient; a window of one maximum gives it all there', async () => {
    await tf.setBackend('wasm');
    tf.tidy(() => {
      // Window 1: two maxima of 3. Window 2: one maximum of 5. Window 3: four zeros.
      const x = tf.tensor4d([3, 1, 5, 0, 0, 0, 3, 0, 1, 2, 0, 0], [1, 2, 6, 1]);
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(
          tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), tf.tensor4d([2, 7, 4], [1, 1, 3, 1])),
        ),
      )(x);
      expect(Array.from(g.dataSync())).toEqual([1, 0, 7, 0, 1, 1, 1, 0, 0, 0, 1, 1]);
    });
  });

  it('MaxPoolGrad in one pass (4 channels): the same sharing among ties, and the kernel ran', async () => {
    await tf.setBackend('wasm');
    const before = poolGradientStats.runs;
    tf.tidy(() => {
      // Per channel k, the 1-channel example above scaled by k + 1: the same ties everywhere.
      const base = [3, 1, 5, 0, 0, 0, 3, 0, 1, 2, 0, 0];
      const x = tf.tensor4d(
        base.flatMap((v) => [v, 2 * v, 3 * v, 4 * v]),
        [1, 2, 6, 4],
      );
      const dy = tf.tensor4d(
        [2, 7, 4].flatMap((v) => [v, v, v, v]),
        [1, 1, 3, 4],
      );
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), dy)),
      )(x);
      const expected = [1, 0, 7, 0, 1, 1, 1, 0, 0, 0, 1, 1];
      expect(Array.from(g.dataSync())).toEqual(expected.flatMap((v) => [v, v, v, v]));
    });
    expect(poolGradientStats.runs - before).toBe(1);
  });

  it('Identity shares the memory of its input: a saved tensor outlives the original, unchanged', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = (): number => tf.engine().backend.numDataIds();
    const before = buffers();
    const copy = tf.clone(x);
    expect(buffers()).toBe(before); // no second buffer
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
    expect(buffers()).toBe(before - 1);
  });

  it.each<[string, number[]]>([
    ['tfjs ops (6 channels)', [3, 5, 4, 6]],
    ['the wasm kernels (8 channels)', [3, 5, 4, 8]],
    ['the wasm kernels over several row blocks (1,200 rows, 16 channels)', [2, 30, 20, 16]],
    ['the wasm kernels on a matrix (dense features)', [300, 4]],
  ])(
    'batch normalisation by %s: the closed-form training gradient equals autodiff of the definition',
    async (_name, shape) => {
      const channels = shape[shape.length - 1];
      const axes = shape.slice(0, -1).map((_, i) => i);
      const inputs = [
        random(shape, 23),
        random([channels], 29),
        random([channels], 31),
        random(shape, 37),
      ];
      const eps = 1e-3;
      // Gradients of sum(bn(x) * w) with respect to x, gamma and beta.
      const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, w: tf.Tensor): tf.Tensor[] =>
        tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
          const { mean, variance } = tf.moments(xx, axes);
          const y = tf.add(
            tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, eps))), gg),
            bb,
          );
          return tf.sum(tf.mul(y, w));
        })([x, g, b]);
      const fast = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, w: tf.Tensor): tf.Tensor[] => {
        const out = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(batchNormTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, eps).y, w)),
        )([x, g, b]);
        const stats = batchNormTraining(x, g as tf.Tensor1D, b as tf.Tensor1D, eps);
        const { mean, variance } = tf.moments(x, axes);
        return [...out, stats.mean, mean, stats.variance, variance];
      };
      const ref = await on('cpu', inputs, reference);
      for (const backend of ['cpu', 'wasm'] as const) {
        const before = { ...batchNormStats };
        const got = await on(backend, inputs, fast);
        ref.forEach((r, i) => expectClose(got[i], r));
        expectClose(got[3], got[4]);
        expectClose(got[5], got[6]);
        const kernels = backend === 'wasm' && channels % 4 === 0;
        // Two forward passes (one under the gradient), one backward.
        expect(batchNormStats.moments - before.moments).toBe(kernels ? 2 : 0);
        expect(batchNormStats.normalise - before.normalise).toBe(kernels ? 2 : 0);
        expect(batchNormStats.gradients - before.gradients).toBe(kernels ? 1 : 0);
      }
    },
  );

  it('batch normalisation with parameters made on another backend takes the tfjs ops, not the kernels', async () => {
    await tf.setBackend('cpu');
    const gamma = tf.ones([8]) as tf.Tensor1D;
    const beta = tf.zeros([8]) as tf.Tensor1D;
    await tf.setBackend('wasm');
    const before = batchNormStats.moments;
    const x = tf.tensor(random([2, 4, 4, 8], 7).data, [2, 4, 4, 8]);
    const { y } = batchNormTraining(x, gamma, beta, 1e-3);
    // Normalised: every channel has mean 0 and variance about 1.
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    expect(Math.max(...Array.from(mean.dataSync(), Math.abs))).toBeLessThan(1e-5);
    expect(Math.min(...variance.dataSync())).toBeGreaterThan(0.99);
    expect(batchNormStats.moments).toBe(before);
    // Once tfjs has moved them (any op on wasm reads them), the kernels take them.
    const [g2, b2] = [tf.add(gamma, 0) as tf.Tensor1D, tf.add(beta, 0) as tf.Tensor1D];
    batchNormTraining(x, g2, b2, 1e-3).y.dispose();
    expect(batchNormStats.moments).toBe(before + 1);
    tf.dispose([gamma, beta, x, y, mean, variance, g2, b2]);
  });

  it('batch normalisation in the wasm kernels leaves no tensor behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(random([2, 6, 6, 8], 3).data, [2, 6, 6, 8]);
    const g = tf.ones([8]) as tf.Tensor1D;
    const b = tf.zeros([8]) as tf.Tensor1D;
    const step = (): void =>
      tf.tidy(() => {
        tf.grads((xx: tf.Tensor, gg: tf.Tensor) =>
          tf.sum(tf.square(batchNormTraining(xx, gg as tf.Tensor1D, b, 1e-3).y)),
        )([x, g]);
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b]);
  });

  it('a training step of the phase network computes no gradient for the image, and saves as plain Keras', async () => {
    await tf.setBackend('wasm');
    const network = buildPhaseNetwork(1);
    network.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
    const x = tf.randomUniform([2, 128, 128, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 4);
    const profile = await tf.profile(async () => {
      await network.trainOnBatch(x, y);
    });
    const inputGradients = profile.kernels.filter((k) => k.name === 'Conv2DBackpropInput');
    // Four of the five convolutions pass a gradient to the layer before; the first does not.
    expect(inputGradients).toHaveLength(4);
    expect(inputGradients.every((k) => k.inputShapes[1]?.[2] !== 3)).toBe(true);
    const classes = (
      network.toJSON(undefined, false) as { config: { layers: { class_name: string }[] } }
    ).config.layers.map((l) => l.class_name);
    expect(classes.filter((c) => c === 'Conv2D')).toHaveLength(5);
    tf.dispose([x, y]);
    network.dispose();
  });

  it('leaves no tensor behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(random([2, 8, 8, 2], 3).data, [2, 8, 8, 2]);
    const w = tf.tensor4d(random([3, 3, 2, 2], 5).data, [3, 3, 2, 2]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++)
      tf.tidy(() =>
        tf
          .grad((ww: tf.Tensor) => tf.sum(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same')))(w)
          .dataSync(),
      );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });

  it('trains a small CNN (conv, pool, global average pooling, dense) on wasm as on cpu', async () => {
    const build = (): tf.LayersModel => {
      const m = tf.sequential();
      m.add(
        tf.layers.conv2d({
          inputShape: [16, 16, 2],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
      );
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(
        tf.layers.conv2d({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
      );
      m.add(tf.layers.globalAveragePooling2d({}));
      m.add(
        tf.layers.dense({
          units: 4,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      );
      return m;
    };
    const x = random([8, 16, 16, 2], 13);
    const y = Float32Array.from({ length: 32 }, (_, i) =>
      i % 4 === Math.floor(i / 4) % 4 ? 1 : 0,
    );
    const losses: Record<string, number[]> = {};
    const weights: Record<string, Float32Array[]> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const model = build();
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const xs = tf.tensor4d(x.data, [8, 16, 16, 2]);
      const ys = tf.tensor2d(y, [8, 4]);
      const history = await model.fit(xs, ys, {
        epochs: 3,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
      });
      losses[backend] = history.history.loss as number[];
      weights[backend] = model.getWeights().map((w) => w.dataSync() as Float32Array);
      tf.dispose([xs, ys]);
      model.dispose();
    }
    expect(losses.wasm[2]).toBeLessThan(losses.wasm[0]);
    losses.wasm.forEach((l, i) => expect(l).toBeCloseTo(losses.cpu[i], 4));
    weights.wasm.forEach((w, i) => expectClose(w, weights.cpu[i]));
  });
});

describe('backend choice', () => {
  it('falls back to wasm when the native binding is absent, and says so once', async () => {
    const lines: string[] = [];
    const name = await selectBackend((l) => lines.push(l), undefined);
    expect(name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await selectBackend((l) => lines.push(l));
    expect(lines).toEqual(['phaselens: compute backend wasm']);
  });
});

describe('tfjs internals the kernels rely on', () => {
  it('are all present in this tfjs build; a build without one turns the kernels off', async () => {
    await selectBackend(() => undefined);
    expect(checkBackendInternals(tf.backend())).toEqual([]);
    const lacking = Object.assign(Object.create(tf.backend()) as object, { makeOutput: undefined });
    try {
      expect(checkBackendInternals(lacking)).toEqual(['makeOutput']);
      expect(
        winogradApplies({
          filterShape: [3, 3, 16, 32],
          dataFormat: 'NHWC',
          strides: 1,
          dilations: 1,
          pad: 'same',
          inputShape: [1, 8, 8, 16],
        }),
      ).toBe(false);
    } finally {
      expect(checkBackendInternals(tf.backend())).toEqual([]);
    }
  });
});
