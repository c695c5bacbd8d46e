import * as tf from '@tensorflow/tfjs';
import {
  batchOf,
  classifySlices,
  decisionSlices,
  graphOf,
  type PhaseResult,
} from '../model/classify';
import type { PhaseModel } from '../model/phase-model';
import { INPUT_SIZE, preprocessSlice, type PreprocessedSlice } from '../model/preprocess';
import { PHASES, type Phase } from '../domain/phase';
import type { CtSeries } from '../series/types';
import type { MapLayer } from '../model/phase-graph';
import { layerFor } from './index';
import type { AttributionMethod } from './types';
import { InputGridMap, type AttributionMap } from './series-map';

export type { AttributionMap } from './series-map';

export interface ExplainSeriesOptions {
  methods: AttributionMethod[];
  layer?: MapLayer;
  /** Default: the predicted phase. */
  target?: Phase;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** A slice as preprocessing saw it, without its pixels: where it sat, and how much body it shows. */
export type SliceSummary = Omit<PreprocessedSlice, 'data'>;

/**
 * Classifies a series and computes the requested maps for every slice (each map sampled onto
 * the CT grid slice by slice when asked: see AttributionMap). Maps are for the predicted phase
 * unless a target is given.
 */
export async function explainSeries(
  model: PhaseModel,
  series: CtSeries,
  options: ExplainSeriesOptions,
): Promise<{ result: PhaseResult; maps: AttributionMap[]; slices: SliceSummary[] }> {
  // Maps explain the first member (of an ensemble), for the ensemble's leading phase.
  const graph = graphOf(model);
  // The decision's slices are preprocessed once, and reused for their maps below.
  const chosen = decisionSlices(series);
  const result = await classifySlices(model, series, chosen);
  const ready = new Map(chosen.map((p) => [p.slice, p]));
  const target = options.target ?? result.leading;
  const targetIndex = PHASES.indexOf(target);
  const plane = INPUT_SIZE * INPUT_SIZE;
  // Maps stay on the input grid; slices are preprocessed a batch at a time and their pixels
  // dropped, so memory grows by a small plane per slice and map, not by the CT grid.
  const planes = options.methods.map(() => new Float32Array(series.slices * plane));
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
      planes[k].set(values.dataSync() as Float32Array, start * plane);
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
      new InputGridMap(m.name, layerFor(m, options.layer), target, planes[k], slices, series),
  );
  return { result, maps, slices };
}
