import type { Phase } from '../domain/phase';
import type { AttributionMap } from '../domain/attribution-map';
import { InvalidInputError } from '../errors';
import { INPUT_SIZE, type PreprocessedSlice } from '../model/inference/preprocess';
import { positiveQuantile, positiveQuantileOfPlanes } from '../render/colormap';
import { planeOf, type Planes } from '../util/planes';
import type { CtSeries } from '../series/types';

/** Where a preprocessed slice sat on its source slice: what sampling a map back needs. */
export type SliceFrame = Pick<PreprocessedSlice, 'slice' | 'centre' | 'spacing'>;

/**
 * Samples an input-grid map back onto one source slice: the inverse of the preprocessing
 * resampling (fixed FOV around the body, radiological view), bilinear; outside the input: 0.
 */
export function mapToSourceSlice(
  map: Float32Array,
  frame: SliceFrame,
  series: CtSeries,
  out: Float32Array,
): void {
  const { rows, columns } = series;
  const o = series.geometry.orientation;
  const [rowSpacing, colSpacing] = series.geometry.pixelSpacing;
  const origin = series.geometry.positions[frame.slice];
  const n = INPUT_SIZE;
  const s = frame.spacing;
  // Input-grid coordinates are affine in (row, column): step them instead of recomputing.
  const du = (colSpacing * o[0]) / s;
  const dv = (colSpacing * o[1]) / s;
  const u00 = (origin[0] - frame.centre[0]) / s + n / 2 - 0.5;
  const v00 = (origin[1] - frame.centre[1]) / s + n / 2 - 0.5;
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

function maxOf(values: Float32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return max;
}

const PLANE = INPUT_SIZE * INPUT_SIZE;

/**
 * A map as the attribution methods make it: one input-grid plane per source slice, sampled onto
 * the CT grid on demand. Bilinear sampling never exceeds the grid's values, so the grid's
 * maximum bounds every slice, and its percentiles stand for the slices'.
 */
export class InputGridMap implements AttributionMap {
  readonly slices: number;
  readonly max: number;
  readonly scale: number;

  /**
   * Plane k of `planes` is the map of `frames[k]` (input grid), and `frames[k]` is source slice
   * k; the planes are in memory or in scratch (a long series: read back a slice at a time).
   */
  constructor(
    readonly method: string,
    readonly layer: string | undefined,
    readonly target: Phase,
    private readonly planes: Planes<Float32Array>,
    private readonly frames: readonly SliceFrame[],
    private readonly series: CtSeries,
    readonly network?: string,
  ) {
    if (
      planes.length !== frames.length * PLANE ||
      frames.length !== series.slices ||
      frames.some((f, k) => f.slice !== k)
    )
      throw new InvalidInputError(
        `${method} map: ${planes.length / PLANE} input planes for ${frames.length} slice frames and ${series.slices} slices`,
      );
    this.slices = series.slices;
    let max = 0;
    const each = (function* () {
      for (let k = 0; k < frames.length; k++) {
        const plane = planeOf(planes, PLANE, k);
        max = Math.max(max, maxOf(plane));
        yield plane;
      }
    })();
    this.scale = positiveQuantileOfPlanes(each, planes.length, 0.995);
    this.max = max;
  }

  sliceValues(slice: number): Float32Array {
    const out = new Float32Array(this.series.rows * this.series.columns);
    const k = slice;
    mapToSourceSlice(planeOf(this.planes, PLANE, k), this.frames[k], this.series, out);
    return out;
  }
}

/**
 * A map given whole on the source grid (slices x rows x columns, like CtSeries.hu): for maps
 * made elsewhere, and tests. Slices are views, not copies.
 */
export class VolumeMap implements AttributionMap {
  readonly method: string;
  readonly layer?: string;
  readonly target: Phase;
  readonly slices: number;
  readonly max: number;
  readonly scale: number;
  private readonly values: Float32Array;
  private readonly plane: number;

  constructor(
    map: { method: string; layer?: string; target: Phase; values: Float32Array },
    series: Pick<CtSeries, 'rows' | 'columns' | 'slices'>,
  ) {
    const { method, values } = map;
    this.method = method;
    if (map.layer !== undefined) this.layer = map.layer;
    this.target = map.target;
    this.values = values;
    this.plane = series.rows * series.columns;
    if (values.length !== series.slices * this.plane)
      throw new InvalidInputError(
        `${method} map: ${values.length} values for a series of ${series.slices * this.plane} voxels`,
      );
    this.slices = series.slices;
    this.max = maxOf(values);
    this.scale = positiveQuantile(values, 0.995);
  }

  sliceValues(slice: number): Float32Array {
    return this.values.subarray(slice * this.plane, (slice + 1) * this.plane);
  }
}
