import * as tf from '@tensorflow/tfjs';
import { PHASES, type Phase } from '../phantom/enhancement';
import type { CtSeries } from '../series/types';
import {
  CHANNELS,
  INPUT_SIZE,
  informativeSlices,
  preprocessSlice,
  type PreprocessedSlice,
} from './preprocess';

export interface SliceProbabilities {
  index: number;
  probabilities: Record<Phase, number>;
}

export interface PhaseDecision {
  phase: Phase;
  confidence: number;
  probabilities: Record<Phase, number>;
  slices: SliceProbabilities[];
}

const asRecord = (p: ArrayLike<number>): Record<Phase, number> =>
  Object.fromEntries(PHASES.map((phase, i) => [phase, p[i]])) as Record<Phase, number>;

/** Stacks preprocessed slices into one input tensor. */
export function batchOf(slices: PreprocessedSlice[]): tf.Tensor4D {
  const data = new Float32Array(slices.length * INPUT_SIZE * INPUT_SIZE * CHANNELS);
  slices.forEach((s, i) => data.set(s.data, i * s.data.length));
  return tf.tensor4d(data, [slices.length, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
}

/**
 * The series decision: the informative slices' log-probabilities averaged (a product of
 * experts: every slice votes with its confidence), softened by `temperature`.
 */
export async function classifyPreprocessed(
  model: tf.LayersModel,
  all: PreprocessedSlice[],
  temperature = 1,
): Promise<PhaseDecision> {
  const slices = informativeSlices(all);
  const probs = tf.tidy(() => model.predict(batchOf(slices)) as tf.Tensor2D);
  const values = (await probs.array()) as number[][];
  probs.dispose();
  const mean = PHASES.map(
    (_, k) => values.reduce((s, p) => s + Math.log(Math.max(p[k], 1e-7)), 0) / values.length,
  );
  const scaled = mean.map((v) => v / temperature);
  const top = Math.max(...scaled);
  const exp = scaled.map((v) => Math.exp(v - top));
  const total = exp.reduce((a, b) => a + b, 0);
  const p = exp.map((v) => v / total);
  const best = p.indexOf(Math.max(...p));
  return {
    phase: PHASES[best],
    confidence: p[best],
    probabilities: asRecord(p),
    slices: slices.map((s, i) => ({ index: s.slice, probabilities: asRecord(values[i]) })),
  };
}

export async function classifySeries(
  model: tf.LayersModel,
  series: CtSeries,
  temperature = 1,
): Promise<PhaseDecision> {
  const all = Array.from({ length: series.slices }, (_, s) => preprocessSlice(series, s));
  return classifyPreprocessed(model, all, temperature);
}
