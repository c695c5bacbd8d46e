import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/inference/backend';
import { buildPhaseNetwork, CONV_LAYERS } from '../src/model/inference/network';
import { CHANNELS, INPUT_SIZE } from '../src/model/inference/preprocess';
import { guidedRelu, PhaseGraph, type MapLayer } from '../src/model/inference/phase-graph';
import { METHODS } from '../src/attribution/index';
import { integratedGradientsRaw } from '../src/attribution/integrated-gradients';
import { CONTROL_MAPS } from '../src/study/controls';

/**
 * Checks that fail on wrong maps: gradients at every layer the per-layer maps use, the guided
 * rule through the whole network, a distractor that only input-weighted imitations light up,
 * and the completeness of integrated gradients.
 */
const N = INPUT_SIZE;

describe('attribution maps against independent references', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  it('the gradient at every layer matches central finite differences of the rest of the network', () => {
    const graph = new PhaseGraph(buildPhaseNetwork(21));
    const x = tf.randomUniform([1, N, N, CHANNELS], 0, 1, 'float32', 22) as tf.Tensor4D;
    const target = 2;
    for (const layer of [...CONV_LAYERS, 'pool5'] as MapLayer[]) {
      const { activations, gradient } = graph.layerGradient(x, layer, target);
      const a = activations.dataSync() as Float32Array;
      const g = gradient.dataSync() as Float32Array;
      const score = (data: Float32Array): number =>
        tf.tidy(
          () =>
            (
              graph.run(
                tf.tensor4d(
                  data,
                  activations.shape as number[] as [number, number, number, number],
                ),
                layer,
                'logits',
              ) as tf.Tensor2D
            ).arraySync()[0][target],
        );
      const positions = Array.from(g.keys())
        .sort((p, q) => Math.abs(g[q]) - Math.abs(g[p]))
        .slice(0, 4);
      const eps = 2e-3 * Math.max(1e-3, ...Array.from(a).slice(0, 2000).map(Math.abs));
      for (const i of positions) {
        const plus = a.slice();
        const minus = a.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const numeric = (score(plus) - score(minus)) / (2 * eps);
        expect({ layer, close: Math.abs(numeric - g[i]) < 0.05 * Math.abs(g[i]) }).toEqual({
          layer,
          close: true,
        });
      }
    }
    graph.dispose();
  });

  it("guided backpropagation equals the rule applied at every ReLU of a reference written with tf's own ops", () => {
    const model = buildPhaseNetwork(23);
    const graph = new PhaseGraph(model);
    const x = tf.randomUniform([1, N, N, CHANNELS], 0, 1, 'float32', 24) as tf.Tensor4D;
    const target = 1;
    // Batch normalisation folded into each convolution as inference does it.
    const blocks = CONV_LAYERS.map((name, i) => {
      const [kernel] = model.getLayer(name).getWeights() as [tf.Tensor4D];
      const bn = model.getLayer(`bn${i + 1}`);
      const [gamma, beta, mean, variance] = bn.getWeights() as tf.Tensor1D[];
      const eps = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
      const scale = tf.div(gamma, tf.sqrt(tf.add(variance, eps)));
      return {
        kernel: tf.mul(kernel, scale) as tf.Tensor4D,
        bias: tf.sub(beta, tf.mul(mean, scale)),
      };
    });
    const [dense, denseBias] = model.getLayer('logits').getWeights() as [tf.Tensor2D, tf.Tensor1D];
    const score = (input: tf.Tensor): tf.Scalar => {
      let t = input as tf.Tensor4D;
      for (const b of blocks)
        t = tf.maxPool(
          guidedRelu(tf.add(tf.conv2d(t, b.kernel, 1, 'same'), b.bias)) as tf.Tensor4D,
          2,
          2,
          'valid',
        );
      const logits = tf.add(tf.matMul(tf.mean(t, [1, 2]) as tf.Tensor2D, dense), denseBias);
      return tf.sum(tf.slice(logits, [0, target], [-1, 1]));
    };
    const reference = tf.grad(score)(x).dataSync();
    const guided = graph.layerGradient(x, 'input', target, { guided: true }).gradient.dataSync();
    const scale = Math.max(...Array.from(reference).map(Math.abs));
    let worst = 0;
    reference.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - guided[i]))));
    expect(scale).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-3 * scale);
    graph.dispose();
  });

  it('integrated gradients are complete: they add up to the score gained from the baseline', () => {
    const graph = new PhaseGraph(buildPhaseNetwork(25));
    const x = tf.randomUniform([1, N, N, CHANNELS], 0, 1, 'float32', 26) as tf.Tensor4D;
    for (const target of [0, 3]) {
      const total = tf.sum(integratedGradientsRaw(graph, x, target, 64)).dataSync()[0];
      const [gain] = tf
        .sub(graph.logits(x), graph.logits(tf.zerosLike(x) as tf.Tensor4D))
        .arraySync() as number[][];
      expect(Math.abs(total - gain[target])).toBeLessThan(0.03 * Math.abs(gain[target]) + 1e-3);
    }
    graph.dispose();
  });
});

/**
 * A hand-wired network that reads input channel 0 only (as in attribution.test.ts: each block
 * passes channel 0 through its centre tap), shown a faint spot in channel 0 and a large bright
 * distractor in channels 1 and 2, which the network cannot see.
 */
function channelZeroNetwork(): PhaseGraph {
  const model = buildPhaseNetwork(27);
  for (const layer of model.layers) {
    const w = layer.getWeights();
    if (w.length === 0) continue;
    if ((CONV_LAYERS as readonly string[]).includes(layer.name)) {
      const k = tf.buffer(w[0].shape);
      k.set(1, 1, 1, 0, 0);
      layer.setWeights([k.toTensor()]);
    } else if (layer.name.startsWith('bn')) {
      const c = w[0].shape[0];
      const eps = layer.getConfig().epsilon as number;
      layer.setWeights([tf.ones([c]), tf.zeros([c]), tf.zeros([c]), tf.fill([c], 1 - eps)]);
    } else if (layer.name === 'logits') {
      const k = tf.buffer(w[0].shape);
      k.set(1, 0, 0);
      layer.setWeights([k.toTensor(), tf.zeros(w[1].shape)]);
    }
  }
  return new PhaseGraph(model);
}

function spotAndDistractor(): tf.Tensor4D {
  const b = tf.buffer([1, N, N, CHANNELS]);
  for (let y = 39; y <= 45; y++) for (let x = 68; x <= 74; x++) b.set(0.3, 0, y, x, 0);
  for (let y = 80; y <= 110; y++)
    for (let x = 10; x <= 40; x++) {
      b.set(1, 0, y, x, 1);
      b.set(1, 0, y, x, 2);
    }
  return b.toTensor() as tf.Tensor4D;
}

/** Share of a single-slice map's mass on the spot (rows 39-45, columns 68-74, with a margin). */
function massOnSpot(map: tf.Tensor): number {
  const v = map.dataSync();
  let inside = 0;
  let total = 0;
  v.forEach((m, i) => {
    total += m;
    if (Math.abs(Math.floor(i / N) - 42) <= 6 && Math.abs((i % N) - 71) <= 6) inside += m;
  });
  return total > 0 ? inside / total : 0;
}

describe('a bright distractor the network ignores', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  it('gradient maps and SAM stay on the signal; the input itself (what an imitation of SAM would return) does not', () => {
    const graph = channelZeroNetwork();
    const x = spotAndDistractor();
    for (const name of ['saliency', 'guided', 'sam', 'integrated-gradients'])
      expect([
        name,
        massOnSpot(METHODS[name].explain(graph, x, 0, { layer: 'input' })) > 0.9,
      ]).toEqual([name, true]);
    for (const layer of ['conv1', 'conv2'] as MapLayer[])
      expect([layer, massOnSpot(METHODS.sam.explain(graph, x, 0, { layer })) > 0.5]).toEqual([
        layer,
        true,
      ]);
    // The check can fail: the input as a map puts most of its mass on the distractor.
    expect(massOnSpot(CONTROL_MAPS.input.explain(graph, x, 0))).toBeLessThan(0.1);
    graph.dispose();
  });
});
