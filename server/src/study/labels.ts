import { INPUT_SIZE, type PreprocessedSlice } from '../model/inference/preprocess';
import type { CtSeries } from '../series/types';

/**
 * A label volume (on the series grid) sampled at the input pixels of one preprocessed slice,
 * nearest neighbour: the ground truth on the grid the maps are compared on.
 */
export function labelsOnInputGrid(
  series: CtSeries,
  labels: Uint8Array,
  slice: PreprocessedSlice,
): Uint8Array {
  const { rows, columns } = series;
  const o = series.geometry.orientation;
  const [rowSpacing, colSpacing] = series.geometry.pixelSpacing;
  const origin = series.geometry.positions[slice.slice];
  const plane = rows * columns;
  const n = INPUT_SIZE;
  const out = new Uint8Array(n * n);
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      const dx = slice.centre[0] + (u - n / 2 + 0.5) * slice.spacing - origin[0];
      const dy = slice.centre[1] + (v - n / 2 + 0.5) * slice.spacing - origin[1];
      const dz = slice.centre[2] - origin[2];
      const c = Math.round((dx * o[0] + dy * o[1] + dz * o[2]) / colSpacing);
      const r = Math.round((dx * o[3] + dy * o[4] + dz * o[5]) / rowSpacing);
      if (r >= 0 && c >= 0 && r < rows && c < columns)
        out[v * n + u] = labels[slice.slice * plane + r * columns + c];
    }
  }
  return out;
}
