import * as tf from '@tensorflow/tfjs';
import { PHASES, type Phase } from '../../domain/phase';
import type { PhaseResult, SliceProbabilities } from '../../domain/phase-result';
import { OutOfScopeError } from '../../errors';
import type { CtSeries } from '../../series/types';
import { decisionRuleOf, membersOf, type PhaseModel } from './phase-model';
import { decideSeries } from './decision';
import { checkScope } from './scope';
import { PhaseGraph } from './phase-graph';
import { seriesProbabilities } from './calibrate';
import {
  CHANNELS,
  INPUT_SIZE,
  informativeSlices,
  preprocessSlice,
  sliceBody,
  type PreprocessedSlice,
} from './preprocess';

export interface PhaseDecision {
  phase: Phase;
  confidence: number;
  probabilities: Record<Phase, number>;
  slices: SliceProbabilities[];
}

const asRecord = (p: ArrayLike<number>): Record<Phase, number> =>
  Object.fromEntries(PHASES.map((phase, i) => [phase, p[i]])) as Record<Phase, number>;

/** Preprocessed slices' values one after the other (the layout of a network input batch). */
export function stackSlices(slices: PreprocessedSlice[]): Float32Array {
  const data = new Float32Array(slices.length * INPUT_SIZE * INPUT_SIZE * CHANNELS);
  slices.forEach((s, i) => data.set(s.data, i * s.data.length));
  return data;
}

/** Stacks preprocessed slices into one input tensor. */
export function batchOf(slices: PreprocessedSlice[]): tf.Tensor4D {
  return tf.tensor4d(stackSlices(slices), [slices.length, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
}

const BATCH = 32;

/** Either network form gives slice probabilities. */
export type PhaseNetwork = tf.LayersModel | PhaseGraph;

function predict(network: PhaseNetwork, x: tf.Tensor4D): tf.Tensor2D {
  return network instanceof PhaseGraph
    ? network.probabilities(x)
    : (network.predict(x) as tf.Tensor2D);
}

const graphs = new WeakMap<tf.LayersModel, PhaseGraph>();

/** The folded inference graph of a model, built once per model. */
export function graphOf(model: PhaseModel): PhaseGraph {
  let graph = graphs.get(model.network);
  if (!graph) {
    graph = new PhaseGraph(model.network);
    graphs.set(model.network, graph);
  }
  return graph;
}

/** Per-slice class probabilities, in batches of 32 (bounded memory for any series length). */
export async function sliceProbabilities(
  network: PhaseNetwork,
  slices: PreprocessedSlice[],
): Promise<number[][]> {
  const values: number[][] = [];
  for (let start = 0; start < slices.length; start += BATCH) {
    const probs = tf.tidy(() => predict(network, batchOf(slices.slice(start, start + BATCH))));
    values.push(...((await probs.array()) as number[][]));
    probs.dispose();
  }
  return values;
}

/**
 * Runs every member once on a full batch of blank slices, so that the first series a service
 * classifies does not pay for the kernels' first-call set-up (about 140 ms on wasm).
 */
export async function warmUp(model: PhaseModel): Promise<void> {
  const blank: PreprocessedSlice = {
    data: new Float32Array(INPUT_SIZE * INPUT_SIZE * CHANNELS),
    slice: 0,
    centre: [0, 0, 0],
    spacing: 1,
    bodyAreaMm2: 0,
    lungFraction: 0,
  };
  for (const member of membersOf(model))
    await sliceProbabilities(
      graphOf(member),
      Array.from({ length: BATCH }, () => blank),
    );
}

/**
 * One network's series decision: the mean of the informative slices' probabilities, tempered
 * by `temperature` (seriesProbabilities).
 */
export async function classifyPreprocessed(
  network: PhaseNetwork,
  all: PreprocessedSlice[],
  temperature = 1,
): Promise<PhaseDecision> {
  const slices = informativeSlices(all);
  const values = await sliceProbabilities(network, slices);
  const p = seriesProbabilities(values, temperature);
  const best = p.indexOf(Math.max(...p));
  return {
    phase: PHASES[best],
    confidence: p[best],
    probabilities: asRecord(p),
    slices: slices.map((s, i) => ({ index: s.slice, probabilities: asRecord(values[i]) })),
  };
}

/** Preprocesses every slice of a series (what classification and the maps both start from). */
export function preprocessSeries(series: CtSeries): PreprocessedSlice[] {
  return Array.from({ length: series.slices }, (_, s) => preprocessSlice(series, s));
}

export async function classifySeries(
  network: PhaseNetwork,
  series: CtSeries,
  temperature = 1,
): Promise<PhaseDecision> {
  return classifyPreprocessed(network, preprocessSeries(series), temperature);
}

/**
 * Classifies a series with a trained model (every member of an ensemble) and its decision rule;
 * names the model in the result. Input that is not abdominal CT is refused with OutOfScopeError
 * before any network runs.
 */
export async function classifyWithModel(
  model: PhaseModel,
  series: CtSeries,
  preprocessed?: PreprocessedSlice[],
): Promise<PhaseResult> {
  if (!preprocessed) return classifySlices(model, series, decisionSlices(series));
  assertInScope(series);
  return classifySlices(model, series, informativeSlices(preprocessed));
}

function assertInScope(series: CtSeries): void {
  const scope = checkScope(series);
  if (scope.problem) throw new OutOfScopeError(`out of scope: ${scope.problem}`);
}

/**
 * The slices a series decision uses, preprocessed: only those are resampled (at most 48 of any
 * series), the same choice as from fully preprocessed slices. Input that is not abdominal CT is
 * refused first (OutOfScopeError).
 */
export function decisionSlices(series: CtSeries): PreprocessedSlice[] {
  assertInScope(series);
  const bodies = Array.from({ length: series.slices }, (_, s) => sliceBody(series, s));
  return informativeSlices(bodies).map((b) => preprocessSlice(series, b.slice, b));
}

/** The call from slices already chosen by decisionSlices (or informativeSlices). */
export async function classifySlices(
  model: PhaseModel,
  series: CtSeries,
  slices: PreprocessedSlice[],
): Promise<PhaseResult> {
  return (await classifySlicesByMember(model, series, slices)).result;
}

/**
 * classifySlices, with every member's slice probabilities beside the call: memberSlices[m][s][c]
 * is member m's probability of phase c on slice s.
 */
export async function classifySlicesByMember(
  model: PhaseModel,
  series: CtSeries,
  slices: PreprocessedSlice[],
): Promise<{ result: PhaseResult; memberSlices: number[][][] }> {
  const memberSlices: number[][][] = [];
  for (const member of membersOf(model))
    memberSlices.push(await sliceProbabilities(graphOf(member), slices));
  return { result: resultOf(model, series, slices, memberSlices), memberSlices };
}

/**
 * The member whose maps explain a phase: the one that gives it the highest mean probability over
 * the decision's slices. The first member could have voted otherwise, and its maps for the
 * ensemble's phase would then show evidence it rejected.
 */
export function explainingMember(memberSlices: number[][][], phase: Phase): number {
  const c = PHASES.indexOf(phase);
  const support = memberSlices.map((slices) => mean(slices.map((p) => p[c])));
  return support.indexOf(Math.max(...support));
}

function resultOf(
  model: PhaseModel,
  series: CtSeries,
  slices: PreprocessedSlice[],
  memberSlices: number[][][],
): PhaseResult {
  const d = decideSeries(memberSlices, decisionRuleOf(model));
  const lead = PHASES.indexOf(d.leading);
  return {
    phase: d.call,
    leading: d.leading,
    confidence: d.probabilities[lead],
    probabilities: asRecord(d.probabilities),
    slices: slices.map((s, i) => ({
      index: s.slice,
      probabilities: asRecord(PHASES.map((_, c) => mean(memberSlices.map((m) => m[i][c])))),
    })),
    agreement: d.agreement,
    members: d.members,
    ...(d.reason ? { reason: d.reason } : {}),
    warnings: [...(series.warnings ?? [])],
    model: { name: model.metadata.name, version: model.metadata.version },
  };
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
