import type { PreprocessedSlice } from '../model/inference/preprocess';
import { informativeSlices } from '../model/inference/preprocess';
import { Canvas } from '../render/canvas';
import { fuseSlice } from '../render/overlay';
import type { CtSeries } from '../series/types';
import type { PhaseResult } from '../domain/phase-result';
import type { AttributionMap } from '../domain/attribution-map';

const TILE = 256;

/** The slices a preview shows: up to `count` informative ones, evenly spread. */
export function previewSlices(
  slices: Pick<PreprocessedSlice, 'slice' | 'bodyAreaMm2' | 'lungFraction'>[],
  count = 6,
): number[] {
  return informativeSlices(slices, count).map((s) => s.slice);
}

/**
 * A PNG montage of one map fused over the CT on a few slices, with a title naming the method,
 * layer, target phase and confidence. The colour scale is shared by all tiles (the 99.5th
 * percentile of the map over the series), so tiles compare.
 */
export function mapPreview(
  series: CtSeries,
  map: AttributionMap,
  result: PhaseResult,
  sliceIndices: number[],
): Buffer {
  const perRow = Math.min(3, sliceIndices.length);
  const rowsOfTiles = Math.ceil(sliceIndices.length / perRow);
  const header = 28;
  const canvas = new Canvas(perRow * TILE, header + rowsOfTiles * TILE, [0, 0, 0]);
  const scale = map.scale;
  const title = `${map.method}${map.layer ? ` (${map.layer})` : ''} for ${map.target}; predicted ${result.phase} ${(result.confidence * 100).toFixed(0)}%`;
  canvas.text(title, 6, 8, [255, 255, 255], 1);
  sliceIndices.forEach((s, n) => {
    const rgb = fuseSlice(series, s, map.sliceValues(s), { scale });
    const ox = (n % perRow) * TILE;
    const oy = header + Math.floor(n / perRow) * TILE;
    for (let y = 0; y < TILE; y++) {
      const r = Math.min(series.rows - 1, Math.floor(((y + 0.5) * series.rows) / TILE));
      for (let x = 0; x < TILE; x++) {
        const c = Math.min(series.columns - 1, Math.floor(((x + 0.5) * series.columns) / TILE));
        const i = (r * series.columns + c) * 3;
        canvas.set(ox + x, oy + y, [rgb[i], rgb[i + 1], rgb[i + 2]]);
      }
    }
    canvas.text(`slice ${s + 1}`, ox + 4, oy + TILE - 12, [255, 255, 0]);
  });
  return canvas.png();
}
