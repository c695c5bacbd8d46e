import * as tf from '@tensorflow/tfjs';
import { METHODS } from '../attribution/index';
import type { AttributionMethod } from '../attribution/types';
import {
  classifyWithModel,
  graphOf,
  preprocessSeries,
  stackSlices,
} from '../model/inference/classify';
import { preprocessSlice } from '../model/inference/preprocess';
import { seriesProbabilities } from '../model/inference/calibrate';
import { buildPhaseNetwork, CONV_LAYERS, LOGITS_LAYER } from '../model/inference/network';
import { PhaseGraph, type MapLayer } from '../model/inference/phase-graph';
import type { PhaseModel } from '../model/inference/phase-model';
import { CHANNELS, INPUT_SIZE, informativeSlices } from '../model/inference/preprocess';
import { PHASES, type Phase } from '../domain/phase';
import { Random } from '../phantom/random';
import type { CtSeries } from '../series/types';
import { labelsOnInputGrid } from './labels';
import { phaseMaskStructures } from './masks';
import { CONTROL_MAPS } from './controls';
import {
  area,
  BASELINES,
  blurred,
  bodyMasks,
  PRIMARY_BASELINE,
  tissueMean,
  type Baseline,
  CURVE_FRACTIONS,
  deletionInsertion,
  groundTruth,
  orderByMap,
  smallestKeptFraction,
  spearman,
  type StudyBatch,
} from './metrics';

const PIXELS = INPUT_SIZE * INPUT_SIZE;

export interface StudySeries {
  id: string;
  /** The independent unit of the bootstrap: series of one patient are resampled together. */
  patient: string;
  kind: 'phantom' | 'real';
  truth: Phase;
  series: CtSeries;
  /** Structure labels on the series grid (phantoms). */
  labels?: Uint8Array;
  /** The same patient without contrast, on the same grid (phantoms): a deletion baseline. */
  withoutContrast?: CtSeries;
}

/** A map under study: a method, at a layer for the layer-wise ones. */
export interface MapSpec {
  key: string;
  method: AttributionMethod;
  layer?: MapLayer;
  /** In the main comparison (the paper's maps and the extras), or only in the per-layer one. */
  main: boolean;
}

export function studyMaps(): MapSpec[] {
  const main: MapSpec[] = [
    { key: 'cam', method: METHODS.cam, main: true },
    { key: 'gradcam', method: METHODS.gradcam, layer: 'conv5', main: true },
    { key: 'saliency', method: METHODS.saliency, main: true },
    { key: 'guided', method: METHODS.guided, main: true },
    { key: 'sam', method: METHODS.sam, layer: 'input', main: true },
    { key: 'integrated-gradients', method: METHODS['integrated-gradients'], main: true },
    { key: 'smoothgrad', method: METHODS.smoothgrad, main: true },
    { key: 'occlusion', method: METHODS.occlusion, main: true },
    { key: 'control-input', method: CONTROL_MAPS.input, main: true },
    { key: 'control-edge', method: CONTROL_MAPS.edge, main: true },
    { key: 'control-random', method: CONTROL_MAPS.random, main: true },
  ];
  const perLayer: MapSpec[] = [];
  for (const layer of [...CONV_LAYERS, 'pool5'] as MapLayer[]) {
    if (layer !== 'conv5')
      perLayer.push({ key: `gradcam@${layer}`, method: METHODS.gradcam, layer, main: false });
    perLayer.push({ key: `sam@${layer}`, method: METHODS.sam, layer, main: false });
  }
  return [...main, ...perLayer];
}

/** The key of a map at a layer in the per-layer comparison (the defaults live in the main set). */
export function layerKey(method: 'gradcam' | 'sam', layer: MapLayer): string {
  if (method === 'gradcam' && layer === 'conv5') return 'gradcam';
  if (method === 'sam' && layer === 'input') return 'sam';
  return `${method}@${layer}`;
}

export interface MapMeasures {
  /** Deletion area per baseline (the primary measure: PRIMARY_BASELINE); NaN where absent. */
  deletion: Record<Baseline, number>;
  insertion: Record<Baseline, number>;
  keptFraction: number;
  mass: number;
  /** Share of body voxels inside the decided phase's mask: the mass a blind map gets. */
  chance: number;
  auc: number;
  /** Curves with the primary baseline. */
  deletionCurve: number[];
  insertionCurve: number[];
}

export interface SeriesRecord {
  id: string;
  patient: string;
  kind: 'phantom' | 'real';
  truth: Phase;
  /** The model's leading phase for the series: the target every map explains. */
  predicted: Phase;
  confidence: number;
  slices: number[];
  /** Target probability with every body voxel replaced, per baseline (the deletion floor). */
  floor: Record<Baseline, number>;
  maps: Record<string, MapMeasures>;
}

const mean = (v: number[]): number => {
  const f = v.filter((x) => Number.isFinite(x));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

const perBaseline = (f: (b: Baseline) => number): Record<Baseline, number> =>
  Object.fromEntries(BASELINES.map((b) => [b, f(b)])) as Record<Baseline, number>;

/**
 * Every map's specificity measures on one series' studied slices. The target is the series'
 * leading phase (the model's decision, an ensemble's when the model is one); maps explain the
 * first member's network. Ties in map order are broken at random from a seed per series.
 */
export async function studySeries(
  model: PhaseModel,
  s: StudySeries,
  slicesPerSeries: number,
  maps: MapSpec[],
): Promise<SeriesRecord> {
  const graph = graphOf(model);
  const all = preprocessSeries(s.series);
  const decision = await classifyWithModel(model, s.series, all);
  const chosen = informativeSlices(all, slicesPerSeries);
  const count = chosen.length;
  const input = stackSlices(chosen);
  const body = bodyMasks(input, count);
  const target = PHASES.indexOf(decision.leading);
  const plain = s.withoutContrast;
  const baselines: Record<Baseline, Float32Array | undefined> = {
    'tissue-mean': tissueMean(input, body),
    blur: blurred(input, count),
    'non-contrast': plain
      ? stackSlices(chosen.map((c) => preprocessSlice(plain, c.slice)))
      : undefined,
  };
  const batchFor = (b: Baseline): StudyBatch | undefined => {
    const baseline = baselines[b];
    return baseline ? { input, baseline, body, count, target } : undefined;
  };
  const mask = new Set(phaseMaskStructures(decision.leading));
  const truth = s.labels
    ? chosen.map((c) => {
        const l = labelsOnInputGrid(s.series, s.labels as Uint8Array, c);
        return l.map((v) => (mask.has(v) ? 1 : 0));
      })
    : undefined;
  const x = tf.tensor4d(input, [count, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
  // Keep-top-k asks whether the series decision survives, on every slice.
  const decided = chosen.map(() => target);
  const random = new Random(`study-ties/${s.id}`);
  const tieBreak = chosen.map(() => Float64Array.from({ length: PIXELS }, () => random.uniform()));
  const none = chosen.map(() => new Int32Array(0));
  const floor = perBaseline((b) => {
    const batch = batchFor(b);
    return batch ? mean(deletionInsertion(graph, batch, none).insertion.map((c) => c[0])) : NaN;
  });
  const record: SeriesRecord = {
    id: s.id,
    patient: s.patient,
    kind: s.kind,
    truth: s.truth,
    predicted: decision.leading,
    confidence: decision.confidence,
    slices: chosen.map((c) => c.slice),
    floor,
    maps: {},
  };
  try {
    for (const spec of maps) {
      const values = tf.tidy(() =>
        spec.method.explain(graph, x, target, { layer: spec.layer, seed: 7 }).dataSync(),
      ) as Float32Array;
      const slice = (i: number): Float32Array => values.subarray(i * PIXELS, (i + 1) * PIXELS);
      const orders = chosen.map((_, i) => orderByMap(slice(i), body[i], tieBreak[i]));
      const curves = perBaselineCurves(graph, orders, batchFor);
      const primary = batchFor(PRIMARY_BASELINE) as StudyBatch;
      const kept = smallestKeptFraction(graph, primary, orders, decided);
      const gt = truth?.map((t, i) => groundTruth(slice(i), body[i], t));
      const main = curves[PRIMARY_BASELINE] as { deletion: number[][]; insertion: number[][] };
      record.maps[spec.key] = {
        deletion: perBaseline((b) => areaOf(curves[b]?.deletion)),
        insertion: perBaseline((b) => areaOf(curves[b]?.insertion)),
        keptFraction: mean(kept),
        mass: gt ? mean(gt.map((g) => g.mass)) : NaN,
        chance: gt ? mean(gt.map((g) => g.chance)) : NaN,
        auc: gt ? mean(gt.map((g) => g.auc)) : NaN,
        deletionCurve: CURVE_FRACTIONS.map((_, k) => mean(main.deletion.map((c) => c[k]))),
        insertionCurve: CURVE_FRACTIONS.map((_, k) => mean(main.insertion.map((c) => c[k]))),
      };
    }
  } finally {
    x.dispose();
  }
  return record;
}

function perBaselineCurves(
  graph: PhaseGraph,
  orders: Int32Array[],
  batchFor: (b: Baseline) => StudyBatch | undefined,
): Record<Baseline, { deletion: number[][]; insertion: number[][] } | undefined> {
  return Object.fromEntries(
    BASELINES.map((b) => {
      const batch = batchFor(b);
      return [b, batch ? deletionInsertion(graph, batch, orders) : undefined];
    }),
  ) as Record<Baseline, { deletion: number[][]; insertion: number[][] } | undefined>;
}

const areaOf = (curves: number[][] | undefined): number =>
  curves ? mean(curves.map((c) => area(CURVE_FRACTIONS, c))) : NaN;

/** Cascading randomisation stages (Adebayo 2018): top layer first, each stage keeps the last. */
export const RANDOMISATION_STAGES = [LOGITS_LAYER, ...[...CONV_LAYERS].reverse()];

/**
 * Copies of the model with weights re-drawn from the top down (logits, conv5, ..., conv1), each
 * layer's kernel replaced by Gaussian noise of the trained kernel's spread.
 */
export function cascadingRandomisations(model: PhaseModel, seed = 1): PhaseGraph[] {
  const copy = buildPhaseNetwork(seed);
  copy.setWeights(model.network.getWeights());
  const random = new Random(`randomise/${seed}`);
  return RANDOMISATION_STAGES.map((name) => {
    const layer = copy.getLayer(name);
    const weights = layer.getWeights();
    layer.setWeights(
      weights.map((w, i) =>
        tf.tidy(() => {
          if (i > 0 && name === LOGITS_LAYER) return tf.zerosLike(w);
          const { variance } = tf.moments(w);
          const sd = Math.sqrt(variance.dataSync()[0]) || 0.01;
          return tf.randomNormal(w.shape, 0, sd, 'float32', random.int(1, 2 ** 30));
        }),
      ),
    );
    return new PhaseGraph(copy);
  });
}

export interface SanityRecord {
  method: string;
  /** Mean Spearman correlation with the trained model's map, per stage. */
  correlation: number[];
}

/** Maps under cascading randomisation: how much each method depends on the learned weights. */
export function sanityChecks(
  model: PhaseModel,
  series: StudySeries[],
  slicesPerSeries: number,
  methods: MapSpec[],
): SanityRecord[] {
  const trained = graphOf(model);
  const stages = cascadingRandomisations(model);
  const sums = methods.map(() => RANDOMISATION_STAGES.map(() => [] as number[]));
  for (const s of series) {
    const chosen = informativeSlices(preprocessSeries(s.series), slicesPerSeries);
    const count = chosen.length;
    const input = stackSlices(chosen);
    const body = bodyMasks(input, count);
    const x = tf.tensor4d(input, [count, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
    // The series decision, as classification makes it.
    const p = seriesProbabilities(tf.tidy(() => trained.probabilities(x).arraySync()));
    const target = p.indexOf(Math.max(...p));
    methods.forEach((spec, m) => {
      const reference = tf.tidy(
        () =>
          spec.method.explain(trained, x, target, { layer: spec.layer }).dataSync() as Float32Array,
      );
      stages.forEach((g, k) => {
        const randomised = tf.tidy(
          () => spec.method.explain(g, x, target, { layer: spec.layer }).dataSync() as Float32Array,
        );
        for (let i = 0; i < count; i++)
          sums[m][k].push(
            spearman(
              reference.subarray(i * PIXELS, (i + 1) * PIXELS),
              randomised.subarray(i * PIXELS, (i + 1) * PIXELS),
              body[i],
            ),
          );
      });
    });
    x.dispose();
  }
  stages.forEach((g) => g.dispose());
  return methods.map((spec, m) => ({ method: spec.key, correlation: sums[m].map(mean) }));
}
