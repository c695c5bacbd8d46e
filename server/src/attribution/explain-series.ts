import * as tf from '@tensorflow/tfjs';
import {
  batchOf,
  classifyWithModel,
  graphOf,
  preprocessSeries,
  type PhaseResult,
} from '../model/classify';
import type { PhaseModel } from '../model/phase-model';
import { INPUT_SIZE, type PreprocessedSlice } from '../model/preprocess';
import { PHASES, type Phase } from '../domain/phase';
import type { CtSeries } from '../series/types';
import type { MapLayer } from '../model/phase-graph';
import { layerFor } from './index';
import type { AttributionMethod } from './types';

/** A map on the source CT grid (what the architecture document calls AttributionMap). */
export interface AttributionMap {
  method: string;
  layer?: string;
  target: Phase;
  /** slices * rows * columns, like CtSeries.hu. */
  values: Float32Array;
}

export interface ExplainSeriesOptions {
  methods: AttributionMethod[];
  layer?: MapLayer;
  /** Default: the predicted phase. */
  target?: Phase;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Samples an input-grid map back onto one source slice: the inverse of the preprocessing
 * resampling (fixed FOV around the body, radiological view), bilinear; outside the input: 0.
 */
export function mapToSourceSlice(
  map: Float32Array,
  slice: PreprocessedSlice,
  series: CtSeries,
  out: Float32Array,
): void {
  const { rows, columns } = series;
  const o = series.geometry.orientation;
  const [rowSpacing, colSpacing] = series.geometry.pixelSpacing;
  const origin = series.geometry.positions[slice.slice];
  const n = INPUT_SIZE;
  const s = slice.spacing;
  // Input-grid coordinates are affine in (row, column): step them instead of recomputing.
  const du = (colSpacing * o[0]) / s;
  const dv = (colSpacing * o[1]) / s;
  const u00 = (origin[0] - slice.centre[0]) / s + n / 2 - 0.5;
  const v00 = (origin[1] - slice.centre[1]) / s + n / 2 - 0.5;
  const last = n - 1;
  for (let r = 0; r < rows; r++) {
    let u = u00 + (r * rowSpacing * o[3]) / s;
    let v = v00 + (r * rowSpacing * o[4]) / s;
    const row = r * columns;
    for (let c = 0; c < columns; c++, u += du, v += dv) {
      if (u < 0 || v < 0 || u > last || v > last) {
        out[row + c] = 0;
        continue;
      }
      // u, v >= 0: truncation is floor.
      const u0 = u >= last ? n - 2 : u | 0;
      const v0 = v >= last ? n - 2 : v | 0;
      const tu = u - u0;
      const tv = v - v0;
      const i = v0 * n + u0;
      const top = map[i] + (map[i + 1] - map[i]) * tu;
      const bottom = map[i + n] + (map[i + n + 1] - map[i + n]) * tu;
      out[row + c] = top + (bottom - top) * tv;
    }
  }
}

/**
 * Classifies a series and computes the requested maps for every slice, on the source CT grid.
 * Maps are for the predicted phase unless a target is given.
 */
export async function explainSeries(
  model: PhaseModel,
  series: CtSeries,
  options: ExplainSeriesOptions,
): Promise<{ result: PhaseResult; maps: AttributionMap[]; slices: PreprocessedSlice[] }> {
  const slices = preprocessSeries(series);
  // Maps explain the first member (of an ensemble), for the ensemble's leading phase.
  const graph = graphOf(model);
  const result = await classifyWithModel(model, series, slices);
  const target = options.target ?? result.leading;
  const targetIndex = PHASES.indexOf(target);
  const plane = series.rows * series.columns;
  const maps: AttributionMap[] = options.methods.map((m) => ({
    method: m.name,
    layer: layerFor(m, options.layer),
    target,
    values: new Float32Array(series.slices * plane),
  }));
  const batch = options.batchSize ?? 16;
  const total = slices.length * options.methods.length;
  let done = 0;
  for (let start = 0; start < slices.length; start += batch) {
    const chunk = slices.slice(start, start + batch);
    const input = batchOf(chunk);
    options.methods.forEach((method, k) => {
      const layer = layerFor(method, options.layer);
      const values = tf.tidy(() => method.explain(graph, input, targetIndex, { layer }));
      const data = values.dataSync() as Float32Array;
      values.dispose();
      chunk.forEach((s, i) =>
        mapToSourceSlice(
          data.subarray(i * INPUT_SIZE * INPUT_SIZE, (i + 1) * INPUT_SIZE * INPUT_SIZE),
          s,
          series,
          maps[k].values.subarray(s.slice * plane, (s.slice + 1) * plane),
        ),
      );
      done += chunk.length;
      options.onProgress?.(done, total);
    });
    input.dispose();
  }
  return { result, maps, slices };
}
