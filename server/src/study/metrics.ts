import * as tf from '@tensorflow/tfjs';
import type { PhaseGraph } from '../model/inference/phase-graph';
import { CHANNELS, INPUT_SIZE } from '../model/inference/preprocess';

// Bound once: global lookups in per-pixel loops are slow in some runtimes (jest's vm).
const { max, min, round } = Math;

const PIXELS = INPUT_SIZE * INPUT_SIZE;

/**
 * What removed voxels are replaced with. Each carries some information of its own, so the study
 * reports all: a blurred copy (body outline; large organs keep their enhancement), the slice's
 * mean body value (no structure at all), and for phantoms the same patient rendered without
 * contrast (the phase evidence removed, anatomy and noise kept).
 */
export const BASELINES = ['tissue-mean', 'blur', 'non-contrast'] as const;
export type Baseline = (typeof BASELINES)[number];
/** The baseline of the primary measure (docs/study/PROTOCOL.md). */
export const PRIMARY_BASELINE: Baseline = 'tissue-mean';

/** Slices under study with what every specificity measure needs. */
export interface StudyBatch {
  /** [n, N, N, C] network input. */
  input: Float32Array;
  /** The image voxels are replaced with (one of BASELINES). */
  baseline: Float32Array;
  /** 1 where the body is (soft-tissue window above its floor), per slice. */
  body: Uint8Array[];
  count: number;
  target: number;
}

/** A box blur of radius `r` pixels per channel (separable, edge-clamped). */
export function blurred(input: Float32Array, count: number, r = 8): Float32Array {
  const n = INPUT_SIZE;
  const out = new Float32Array(input.length);
  const tmp = new Float32Array(input.length);
  for (let s = 0; s < count; s++) {
    const base = s * PIXELS * CHANNELS;
    for (const [src, dst, horizontal] of [
      [input, tmp, true],
      [tmp, out, false],
    ] as const) {
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          for (let k = 0; k < CHANNELS; k++) {
            let sum = 0;
            for (let d = -r; d <= r; d++) {
              const q = min(n - 1, max(0, b + d));
              const [y, x] = horizontal ? [a, q] : [q, a];
              sum += src[base + (y * n + x) * CHANNELS + k];
            }
            const [y, x] = horizontal ? [a, b] : [b, a];
            dst[base + (y * n + x) * CHANNELS + k] = sum / (2 * r + 1);
          }
        }
      }
    }
  }
  return out;
}

export function bodyMasks(input: Float32Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, s) => {
    const m = new Uint8Array(PIXELS);
    for (let p = 0; p < PIXELS; p++) m[p] = input[(s * PIXELS + p) * CHANNELS] > 0.05 ? 1 : 0;
    return m;
  });
}

/**
 * Each slice's body pixels replaced by the slice's mean body value per channel; outside the
 * body unchanged.
 */
export function tissueMean(input: Float32Array, body: Uint8Array[]): Float32Array {
  const out = input.slice();
  body.forEach((m, s) => {
    const sums = new Float64Array(CHANNELS);
    let count = 0;
    for (let p = 0; p < PIXELS; p++) {
      if (!m[p]) continue;
      count++;
      for (let k = 0; k < CHANNELS; k++) sums[k] += input[(s * PIXELS + p) * CHANNELS + k];
    }
    for (let p = 0; p < PIXELS; p++) {
      if (!m[p]) continue;
      for (let k = 0; k < CHANNELS; k++)
        out[(s * PIXELS + p) * CHANNELS + k] = sums[k] / Math.max(1, count);
    }
  });
  return out;
}

/**
 * Body pixels of one slice ordered by map value, highest first. Ties (rectified maps have many
 * exact zeros) are broken at random by `tieBreak`, one number per pixel, never by raster order,
 * which would favour one side of the image.
 */
export function orderByMap(
  map: Float32Array,
  body: Uint8Array,
  tieBreak: Float64Array,
): Int32Array {
  const pixels: number[] = [];
  for (let p = 0; p < PIXELS; p++) if (body[p]) pixels.push(p);
  pixels.sort((a, b) => map[b] - map[a] || tieBreak[a] - tieBreak[b]);
  return Int32Array.from(pixels);
}

/** Target-class probability of each slice for inputs mixed from input and baseline by masks. */
function scores(
  graph: PhaseGraph,
  batch: StudyBatch,
  keep: (slice: number) => Uint8Array,
): number[] {
  const mixed = new Float32Array(batch.input.length);
  for (let s = 0; s < batch.count; s++) {
    const m = keep(s);
    for (let p = 0; p < PIXELS; p++) {
      const from = m[p] ? batch.input : batch.baseline;
      const i = (s * PIXELS + p) * CHANNELS;
      for (let k = 0; k < CHANNELS; k++) mixed[i + k] = from[i + k];
    }
  }
  return tf.tidy(() => {
    const x = tf.tensor4d(mixed, [batch.count, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
    const p = graph.probabilities(x);
    return Array.from(tf.squeeze(tf.slice(p, [0, batch.target], [-1, 1]), [1]).dataSync());
  });
}

/**
 * Which pixels keep the input: the first `fraction` of `order` (the map's top body voxels), or
 * with `invert` every body voxel but those. Outside the body the input always stays, so deletion
 * at 100% and insertion at 0% show the same image.
 */
export function topMask(
  order: Int32Array,
  fraction: number,
  invert: boolean,
  body: Uint8Array,
): Uint8Array {
  const m = new Uint8Array(PIXELS);
  for (let p = 0; p < PIXELS; p++) m[p] = body[p] ? (invert ? 1 : 0) : 1;
  const count = round(order.length * fraction);
  for (let i = 0; i < count; i++) m[order[i]] = invert ? 0 : 1;
  return m;
}

export const CURVE_FRACTIONS = [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1];

/** Trapezoidal area under a curve sampled at `xs`. */
export function area(xs: number[], ys: number[]): number {
  let a = 0;
  for (let i = 1; i < xs.length; i++) a += ((ys[i] + ys[i - 1]) / 2) * (xs[i] - xs[i - 1]);
  return a;
}

/**
 * Deletion and insertion curves (Petsiuk 2018), per slice: the target probability as the map's
 * top body voxels are replaced by the baseline (deletion: a specific map makes it fall fast,
 * small area) or restored into the baseline (insertion: rises fast, large area).
 */
export function deletionInsertion(
  graph: PhaseGraph,
  batch: StudyBatch,
  orders: Int32Array[],
): { deletion: number[][]; insertion: number[][] } {
  const deletion: number[][] = orders.map(() => []);
  const insertion: number[][] = orders.map(() => []);
  for (const f of CURVE_FRACTIONS) {
    scores(graph, batch, (s) => topMask(orders[s], f, true, batch.body[s])).forEach((v, s) =>
      deletion[s].push(v),
    );
    scores(graph, batch, (s) => topMask(orders[s], f, false, batch.body[s])).forEach((v, s) =>
      insertion[s].push(v),
    );
  }
  return { deletion, insertion };
}

export const KEEP_FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

/**
 * Keep-top-k: only the map's top k% body voxels kept, the rest baseline. Per slice, the smallest
 * k down to which the predicted class stays the decision at every larger k (1 when even 50%
 * does not keep it).
 */
export function smallestKeptFraction(
  graph: PhaseGraph,
  batch: StudyBatch,
  orders: Int32Array[],
  predicted: number[],
): number[] {
  const smallest = orders.map(() => 1);
  // Down from the largest k: the answer is where the decision first breaks.
  const holding = orders.map(() => true);
  for (const k of [...KEEP_FRACTIONS].reverse()) {
    const mixed = new Float32Array(batch.input.length);
    for (let s = 0; s < batch.count; s++) {
      const m = topMask(orders[s], k, false, batch.body[s]);
      for (let p = 0; p < PIXELS; p++) {
        const from = m[p] ? batch.input : batch.baseline;
        const i = (s * PIXELS + p) * CHANNELS;
        for (let c = 0; c < CHANNELS; c++) mixed[i + c] = from[i + c];
      }
    }
    const decided = tf.tidy(() =>
      Array.from(
        tf
          .argMax(
            graph.probabilities(
              tf.tensor4d(mixed, [batch.count, INPUT_SIZE, INPUT_SIZE, CHANNELS]),
            ),
            1,
          )
          .dataSync(),
      ),
    );
    decided.forEach((d, s) => {
      if (!holding[s]) return;
      if (d === predicted[s]) smallest[s] = k;
      else holding[s] = false;
    });
  }
  return smallest;
}

/**
 * Ground truth on phantoms: the share of the map's mass (within the body) inside the structures
 * that carry the decided phase, the share of body voxels those structures cover (what a map that
 * knows nothing scores: chance), and the ROC AUC of map values for telling those voxels from the
 * rest of the body (Mann-Whitney, ties counted half).
 */
export function groundTruth(
  map: Float32Array,
  body: Uint8Array,
  truth: Uint8Array,
): { mass: number; chance: number; auc: number } {
  let inside = 0;
  let total = 0;
  const pos: number[] = [];
  const neg: number[] = [];
  for (let p = 0; p < PIXELS; p++) {
    if (!body[p]) continue;
    const v = max(0, map[p]);
    total += v;
    if (truth[p]) {
      inside += v;
      pos.push(v);
    } else neg.push(v);
  }
  if (pos.length === 0 || neg.length === 0) return { mass: NaN, chance: NaN, auc: NaN };
  const all = [...pos.map((v) => [v, 1]), ...neg.map((v) => [v, 0])].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const rank = (i + j + 1) / 2; // average rank, 1-based
    for (let q = i; q < j; q++) if (all[q][1] === 1) rankSum += rank;
    i = j;
  }
  const auc = (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
  const chance = pos.length / (pos.length + neg.length);
  return { mass: total > 0 ? inside / total : 0, chance, auc };
}

/** Spearman rank correlation of two maps over body pixels (for the randomisation checks). */
export function spearman(a: Float32Array, b: Float32Array, body: Uint8Array): number {
  const idx: number[] = [];
  for (let p = 0; p < PIXELS; p++) if (body[p]) idx.push(p);
  const ranks = (m: Float32Array): Float64Array => {
    const order = [...idx].sort((x, y) => m[x] - m[y]);
    const r = new Float64Array(PIXELS);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j < order.length && m[order[j]] === m[order[i]]) j++;
      for (let q = i; q < j; q++) r[order[q]] = (i + j - 1) / 2;
      i = j;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const n = idx.length;
  let ma = 0;
  let mb = 0;
  for (const p of idx) {
    ma += ra[p];
    mb += rb[p];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (const p of idx) {
    sab += (ra[p] - ma) * (rb[p] - mb);
    saa += (ra[p] - ma) ** 2;
    sbb += (rb[p] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}
