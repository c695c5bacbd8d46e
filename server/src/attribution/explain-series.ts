import * as tf from '@tensorflow/tfjs';
import {
  batchOf,
  classifySlicesByMember,
  decisionSlices,
  explainingMember,
  graphOf,
} from '../model/inference/classify';
import { membersOf, type PhaseModel } from '../model/inference/phase-model';
import { INPUT_SIZE, preprocessSlice, type PreprocessedSlice } from '../model/inference/preprocess';
import { PHASES, type Phase } from '../domain/phase';
import type { CtSeries } from '../series/types';
import type { MapLayer } from '../model/inference/phase-graph';
import { layerFor } from './index';
import type { AttributionMethod } from './types';
import { InputGridMap } from './series-map';
import type { ScratchSpace } from '../util/planes';
import type { PhaseResult } from '../domain/phase-result';
import type { AttributionMap } from '../domain/attribution-map';

export interface ExplainSeriesOptions {
  methods: AttributionMethod[];
  layer?: MapLayer;
  /** Default: the predicted phase. */
  target?: Phase;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Keep the maps' planes in scratch files here (a long series: memory stays flat). */
  scratch?: ScratchSpace;
}

export interface ExplainedSeries {
  result: PhaseResult;
  maps: AttributionMap[];
  slices: SliceSummary[];
  /** The network the maps explain: an ensemble's member folder, or the model's name. */
  explainedBy: string;
}

/** A slice as preprocessing saw it, without its pixels: where it sat, and how much body it shows. */
export type SliceSummary = Omit<PreprocessedSlice, 'data'>;

/**
 * Classifies a series and computes the requested maps for every slice (each map sampled onto
 * the CT grid slice by slice when asked: see AttributionMap). Maps are for the predicted phase
 * unless a target is given, and explain the network (of an ensemble's) that most supports it.
 */
export async function explainSeries(
  model: PhaseModel,
  series: CtSeries,
  options: ExplainSeriesOptions,
): Promise<ExplainedSeries> {
  // The decision's slices are preprocessed once, and reused for their maps below.
  const chosen = decisionSlices(series);
  const { result, memberSlices } = await classifySlicesByMember(model, series, chosen);
  const ready = new Map(chosen.map((p) => [p.slice, p]));
  const target = options.target ?? result.leading;
  // Maps explain the member that most supports the target (of an ensemble's networks).
  const m = explainingMember(memberSlices, target);
  const graph = graphOf(membersOf(model)[m]);
  const explainedBy = model.metadata.members?.[m] ?? model.metadata.name;
  const targetIndex = PHASES.indexOf(target);
  const plane = INPUT_SIZE * INPUT_SIZE;
  // Maps stay on the input grid; slices are preprocessed a batch at a time and their pixels
  // dropped, so memory grows by a small plane per slice and map, not by the CT grid (and not at
  // all with scratch space, where the planes go).
  const planes = options.methods.map((m) =>
    options.scratch
      ? options.scratch.planes(Float32Array, series.slices, plane, `the ${m.name} map`)
      : new Float32Array(series.slices * plane),
  );
  const slices: SliceSummary[] = [];
  const batch = options.batchSize ?? 16;
  const total = series.slices * options.methods.length;
  let done = 0;
  for (let start = 0; start < series.slices; start += batch) {
    const chunk = Array.from(
      { length: Math.min(batch, series.slices - start) },
      (_, i) => ready.get(start + i) ?? preprocessSlice(series, start + i),
    );
    const input = batchOf(chunk);
    options.methods.forEach((method, k) => {
      const layer = layerFor(method, options.layer);
      const values = tf.tidy(() => method.explain(graph, input, targetIndex, { layer }));
      const data = values.dataSync() as Float32Array;
      const into = planes[k];
      if (into instanceof Float32Array) into.set(data, start * plane);
      else into.write(start, data);
      values.dispose();
      done += chunk.length;
      options.onProgress?.(done, total);
    });
    input.dispose();
    for (const { slice, centre, spacing, bodyAreaMm2, lungFraction } of chunk)
      slices.push({ slice, centre, spacing, bodyAreaMm2, lungFraction });
  }
  const maps = options.methods.map(
    (m, k) =>
      new InputGridMap(
        m.name,
        layerFor(m, options.layer),
        target,
        planes[k],
        slices,
        series,
        explainedBy,
      ),
  );
  return { result, maps, slices, explainedBy };
}
