import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/inference/backend';
import { buildPhaseNetwork, CONV_LAYERS } from '../src/model/inference/network';
import { CHANNELS, INPUT_SIZE } from '../src/model/inference/preprocess';
import { guidedRelu, PhaseGraph } from '../src/model/inference/phase-graph';
import { METHODS } from '../src/attribution/index';

const N = INPUT_SIZE;

/**
 * A network wired by hand so its class-0 score is known: every block passes channel 0 through
 * its centre tap (batch norm set to identity), so the score is the mean over the 4 x 4 pooled
 * cells of the maximum of input channel 0 in each 32 x 32 block.
 */
function plantedNetwork(): tf.LayersModel {
  const model = buildPhaseNetwork(5);
  for (const layer of model.layers) {
    const w = layer.getWeights();
    if (w.length === 0) continue;
    layer.setWeights(wired(layer, w));
  }
  return model;
}

function wired(layer: tf.layers.Layer, w: tf.Tensor[]): tf.Tensor[] {
  {
    if (CONV_LAYERS.includes(layer.name as (typeof CONV_LAYERS)[number])) {
      const [kh, kw, ci, co] = w[0].shape;
      const k = tf.buffer([kh, kw, ci, co]);
      k.set(1, 1, 1, 0, 0);
      return [k.toTensor()];
    }
    if (layer.name.startsWith('bn')) {
      const c = w[0].shape[0];
      const eps = layer.getConfig().epsilon as number;
      return [tf.ones([c]), tf.zeros([c]), tf.zeros([c]), tf.fill([c], 1 - eps)];
    }
    if (layer.name === 'logits') {
      const k = tf.buffer(w[0].shape);
      k.set(1, 0, 0);
      return [k.toTensor(), tf.zeros(w[1].shape)];
    }
    return w;
  }
}

/** A slice of air with one bright spot (peak at row 42, column 71) in channel 0. */
function spotInput(): tf.Tensor4D {
  const b = tf.buffer([1, N, N, CHANNELS]);
  for (let y = 39; y <= 45; y++)
    for (let x = 68; x <= 74; x++) b.set(1 - 0.05 * Math.hypot(y - 42, x - 71), 0, y, x, 0);
  return b.toTensor() as tf.Tensor4D;
}

/** Row and column of a single-slice map's maximum. */
const argmax = (t: tf.Tensor): [number, number] => {
  const idx = tf.tidy(() => tf.argMax(tf.reshape(t, [-1])).dataSync()[0]);
  return [Math.floor(idx / N), idx % N];
};

describe('attribution maps', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  it('the folded graph computes what the trained layers model computes', () => {
    const model = buildPhaseNetwork(11);
    // Give batch normalisation non-trivial statistics so the folding is exercised.
    model.setWeights(
      model
        .getWeights()
        .map((w, i) =>
          w.shape.length === 1
            ? tf.add(tf.mul(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i), w), 0.1)
            : w,
        ),
    );
    const graph = new PhaseGraph(model);
    const x = tf.randomUniform([3, N, N, CHANNELS], 0, 1, 'float32', 3) as tf.Tensor4D;
    const fromGraph = tf.softmax(graph.logits(x)).arraySync() as number[][];
    const fromModel = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    fromGraph.flat().forEach((v, i) => expect(v).toBeCloseTo(fromModel.flat()[i], 4));
    graph.dispose();
  });

  it('input gradients match central finite differences, pixel by pixel', () => {
    const graph = new PhaseGraph(buildPhaseNetwork(12));
    const x = tf.randomUniform([1, N, N, CHANNELS], 0, 1, 'float32', 4) as tf.Tensor4D;
    const base = x.dataSync() as Float32Array;
    const score = (data: Float32Array, target: number): number =>
      graph.logits(tf.tensor4d(data, x.shape)).arraySync()[0][target];
    for (const target of [0, 2]) {
      const g = graph.layerGradient(x, 'input', target).gradient.dataSync();
      // The pixels with the largest gradients (the network is piecewise linear: float32 noise
      // swamps differences at pixels that barely matter).
      const pixels = Array.from(g.keys())
        .sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]))
        .slice(0, 6);
      const eps = 3e-3;
      for (const i of pixels) {
        const plus = base.slice();
        const minus = base.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const numeric = (score(plus, target) - score(minus, target)) / (2 * eps);
        expect(Math.abs(numeric - g[i])).toBeLessThan(0.05 * Math.abs(g[i]));
      }
    }
    graph.dispose();
  });

  it('maps of a planted signal land on it', () => {
    const graph = new PhaseGraph(plantedNetwork());
    const x = spotInput();
    expect(graph.logits(x).arraySync()[0][0]).toBeCloseTo(1 / 16, 4);
    for (const name of ['saliency', 'guided', 'sam', 'integrated-gradients', 'smoothgrad']) {
      const map = METHODS[name].explain(graph, x, 0, { layer: 'input' });
      const [r, c] = argmax(map);
      expect([name, Math.abs(r - 42) <= 3 && Math.abs(c - 71) <= 3]).toEqual([name, true]);
      // Nearly all of the map's mass lies on the spot; SmoothGrad's noise legitimately gives
      // every other block a maximum too (spread thinly), so only its peak is checked.
      if (name === 'smoothgrad') continue;
      const values = map.dataSync();
      let inside = 0;
      let total = 0;
      values.forEach((v, i) => {
        total += v;
        if (Math.abs(Math.floor(i / N) - 42) <= 6 && Math.abs((i % N) - 71) <= 6) inside += v;
      });
      expect(inside / total).toBeGreaterThan(0.9);
    }
    // Coarse maps: the 32 x 32 block holding the spot (rows 32-63, columns 64-95).
    for (const name of ['cam', 'gradcam', 'occlusion']) {
      const map = METHODS[name].explain(graph, x, 0, { layer: 'pool5' });
      const [r, c] = argmax(map);
      expect([name, r >= 32 && r < 64 && c >= 64 && c < 96]).toEqual([name, true]);
    }
    graph.dispose();
  });

  it('CAM and Grad-CAM at the pooled features agree up to a positive scale', () => {
    const model = buildPhaseNetwork(13);
    const graph = new PhaseGraph(model);
    const x = tf.randomUniform([2, N, N, CHANNELS], 0, 1, 'float32', 6) as tf.Tensor4D;
    for (const target of [0, 1, 3]) {
      const a = METHODS.cam.explain(graph, x, target).dataSync();
      const b = METHODS.gradcam.explain(graph, x, target, { layer: 'pool5' }).dataSync();
      // Grad-CAM's alpha at pool5 is w^c / 16 (the gradient of a mean over 4 x 4 cells).
      let worst = 0;
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(b[i] * 16 - v))));
      expect(worst).toBeLessThan(1e-4 * Math.max(1, ...Array.from(a)));
      expect(Math.max(...Array.from(a))).toBeGreaterThan(0);
    }
    graph.dispose();
  });

  it('guided backpropagation passes a gradient only where input and gradient are positive', () => {
    const x = tf.tensor1d([-1, 2, 3, 0.5, -2]);
    const dy = tf.tensor1d([1, -1, 2, 0.5, -3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(guidedRelu(t), dy)))(x);
    expect(Array.from(g.dataSync()).map((v) => v + 0)).toEqual([0, 0, 2, 0.5, 0]);
    const graph = new PhaseGraph(buildPhaseNetwork(14));
    const input = tf.randomUniform([1, N, N, CHANNELS], 0, 1, 'float32', 7) as tf.Tensor4D;
    const plain = graph.layerGradient(input, 'input', 1).gradient;
    const guidedGrad = graph.layerGradient(input, 'input', 1, { guided: true }).gradient;
    // Guided gradients differ from plain ones, and the map keeps their positive part only.
    expect(tf.max(tf.abs(tf.sub(plain, guidedGrad))).dataSync()[0]).toBeGreaterThan(0);
    expect(tf.min(METHODS.guided.explain(graph, input, 1)).dataSync()[0]).toBeGreaterThanOrEqual(0);
    graph.dispose();
  });
});
