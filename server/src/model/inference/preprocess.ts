import { InvalidInputError } from '../../errors';
import { sliceNormal } from '../../series/assemble';
import { sliceView, type CtSeries, type HuArray, type Vec3 } from '../../series/types';
import { BODY_HU, enclosedLowDensity, MAX_LUNG_WIDTH_MM } from './enclosed';

// Bound once: global lookups in per-pixel loops are slow in some runtimes (jest's vm).
const { abs, ceil, floor, min, round } = Math;

/** Network input: INPUT_SIZE x INPUT_SIZE pixels covering FOV_MM, one channel per HU window. */
export const INPUT_SIZE = 128;
export const FOV_MM = 400;
/**
 * HU windows as channels (centre, width): soft tissue; enhancing vessels and parenchyma; dense
 * excreted contrast and bone. Windows, not raw HU, so kVp and dose shifts stay bounded.
 */
export const WINDOWS: readonly [number, number][] = [
  [40, 400],
  [150, 500],
  [600, 2000],
];
export const CHANNELS = WINDOWS.length;
const AIR_HU = -1000;

/** One slice as the network sees it, and where it came from (to map results back). */
export interface PreprocessedSlice {
  /** INPUT_SIZE * INPUT_SIZE * CHANNELS, row-major, channels last. */
  data: Float32Array;
  slice: number;
  /** Patient (LPS) position of the input's centre pixel, in mm. */
  centre: Vec3;
  /** mm per input pixel. */
  spacing: number;
  /** Body area on the slice (mm^2) and the fraction of it at lung density. */
  bodyAreaMm2: number;
  lungFraction: number;
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/**
 * Median position of a histogram of counts per index, halfway between the lower and upper
 * medians so that mirroring the image mirrors the result exactly.
 */
function medianIndex(counts: Float64Array, total: number): number {
  let acc = 0;
  let lower = -1;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i];
    if (lower < 0 && acc >= total / 2) lower = i;
    if (acc > total / 2) return (lower + i) / 2;
  }
  return counts.length / 2;
}

let boxTable = new Float64Array(0);
const REUSED_TABLE_MAX = 1025 * 1025;

/** Means over axis-aligned boxes of one slice, from its summed-area table; outside is air. */
class BoxMean {
  private readonly table: Float64Array;
  private readonly stride: number;

  constructor(
    hu: HuArray,
    private readonly rows: number,
    private readonly columns: number,
    private readonly halfRows: number,
    private readonly halfCols: number,
  ) {
    const stride = columns + 1;
    // One table reused slice after slice (preprocessing is synchronous): a new 2 MB array a
    // slice cost as much as filling it. Row 0 and column 0 stay zero; the loop writes the rest.
    // Only up to 1024 x 1024 pixels, so a rare huge slice does not hold its table for good.
    const size = (rows + 1) * stride;
    if (boxTable.length < size && size <= REUSED_TABLE_MAX) boxTable = new Float64Array(size);
    const table = size <= REUSED_TABLE_MAX ? boxTable : new Float64Array(size);
    table.fill(0, 0, stride);
    for (let r = 1; r <= rows; r++) table[r * stride] = 0;
    for (let r = 0; r < rows; r++) {
      let run = 0;
      for (let c = 0; c < columns; c++) {
        run += hu[r * columns + c];
        table[(r + 1) * stride + c + 1] = table[r * stride + c + 1] + run;
      }
    }
    this.table = table;
    this.stride = stride;
  }

  mean(fr: number, fc: number): number {
    const r0 = round(fr - this.halfRows);
    const r1 = round(fr + this.halfRows);
    const c0 = round(fc - this.halfCols);
    const c1 = round(fc + this.halfCols);
    const area = (r1 - r0) * (c1 - c0);
    const a0 = r0 < 0 ? 0 : r0 > this.rows ? this.rows : r0;
    const a1 = r1 < 0 ? 0 : r1 > this.rows ? this.rows : r1;
    const b0 = c0 < 0 ? 0 : c0 > this.columns ? this.columns : c0;
    const b1 = c1 < 0 ? 0 : c1 > this.columns ? this.columns : c1;
    const t = this.table;
    const s = this.stride;
    const inside = (a1 - a0) * (b1 - b0);
    const sum = t[a1 * s + b1] - t[a0 * s + b1] - t[a1 * s + b0] + t[a0 * s + b0];
    return (sum + AIR_HU * (area - inside)) / area;
  }
}

/**
 * One slice's body: its area and lung share (what slice choice needs) and its centre, the median
 * row and column (robust to the table), where preprocessing centres the network's grid.
 */
export interface SliceBody {
  slice: number;
  bodyAreaMm2: number;
  lungFraction: number;
  centreRow: number;
  centreColumn: number;
}

/**
 * The body on one slice (pixels above -500 HU): its pixel count, the lung and gas it encloses
 * (counted every other row and column), and its centre.
 */
function bodyOf(
  hu: HuArray,
  rows: number,
  columns: number,
  colSpacing: number,
): { body: number; lung: number; centreRow: number; centreColumn: number } {
  const byRow = new Float64Array(rows);
  const byCol = new Float64Array(columns);
  let body = 0;
  // A local copy: an imported binding read per pixel can be a getter call (tsx, jest).
  const bodyHu = BODY_HU;
  for (let r = 0, i = 0; r < rows; r++) {
    let inRow = 0;
    for (let c = 0; c < columns; c++, i++) {
      if (hu[i] > bodyHu) {
        inRow++;
        byCol[c]++;
      }
    }
    byRow[r] = inRow;
    body += inRow;
  }
  const step = 2;
  const widest = MAX_LUNG_WIDTH_MM / colSpacing;
  const lung = min(body, enclosedLowDensity(hu, rows, columns, step, widest) * step * step);
  return {
    body,
    lung,
    centreRow: body ? medianIndex(byRow, body) : rows / 2,
    centreColumn: body ? medianIndex(byCol, body) : columns / 2,
  };
}

/** One slice's body (SliceBody), without resampling: slice choice looks at every slice. */
export function sliceBody(series: CtSeries, slice: number): SliceBody {
  const { rows, columns } = series;
  const [rowSpacing, colSpacing] = series.geometry.pixelSpacing;
  const { body, lung, centreRow, centreColumn } = bodyOf(
    sliceView(series, slice),
    rows,
    columns,
    colSpacing,
  );
  return {
    slice,
    bodyAreaMm2: body * rowSpacing * colSpacing,
    lungFraction: body ? lung / body : 0,
    centreRow,
    centreColumn,
  };
}

/**
 * Resamples one axial slice onto a fixed physical grid centred on the body, in the radiological
 * view whatever the stored orientation (input x toward patient left, y toward posterior), and
 * maps HU to window channels in [0, 1].
 */
export function preprocessSlice(
  series: CtSeries,
  slice: number,
  // Slice choice has measured it already for the slices it keeps: not measured twice.
  body: SliceBody = sliceBody(series, slice),
): PreprocessedSlice {
  const { rows, columns } = series;
  const o = series.geometry.orientation;
  const rowDir: Vec3 = [o[0], o[1], o[2]];
  const colDir: Vec3 = [o[3], o[4], o[5]];
  const normal = sliceNormal(o);
  if (abs(normal[2]) < 0.9) {
    throw new InvalidInputError(
      `series ${series.seriesInstanceUid} is not axial (slice normal ${normal.map((v) => v.toFixed(2)).join(', ')})`,
    );
  }
  const [rowSpacing, colSpacing] = series.geometry.pixelSpacing;
  const origin = series.geometry.positions[slice];
  const hu = sliceView(series, slice);

  if (body.slice !== slice) throw new Error(`body of slice ${body.slice} given for ${slice}`);
  const cr = body.centreRow;
  const cc = body.centreColumn;
  const centre: Vec3 = [0, 1, 2].map(
    (k) => origin[k] + cc * colSpacing * rowDir[k] + cr * rowSpacing * colDir[k],
  ) as Vec3;

  const n = INPUT_SIZE;
  const spacing = FOV_MM / n;
  const data = new Float32Array(n * n * CHANNELS);
  // Finer sources are averaged over each input pixel's footprint (an area filter), so noise and
  // reconstruction kernels of thin, sharp series reach the network as they would at 3 mm pixels
  // instead of aliasing through point sampling.
  const halfRows = spacing / rowSpacing / 2;
  const halfCols = spacing / colSpacing / 2;
  const box =
    halfRows >= 1 && halfCols >= 1 ? new BoxMean(hu, rows, columns, halfRows, halfCols) : undefined;
  const lows = WINDOWS.map(([c, w]) => c - w / 2);
  const scales = WINDOWS.map(([, w]) => 1 / w);
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      // Canonical patient point: +x (left) to the right of the image, +y (posterior) down.
      const p: Vec3 = [
        centre[0] + (u - n / 2 + 0.5) * spacing,
        centre[1] + (v - n / 2 + 0.5) * spacing,
        centre[2],
      ];
      const d: Vec3 = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
      const fc = dot(d, rowDir) / colSpacing;
      const fr = dot(d, colDir) / rowSpacing;
      let value = AIR_HU;
      if (box) {
        value = box.mean(fr, fc);
      } else if (fr >= 0 && fc >= 0 && fr <= rows - 1 && fc <= columns - 1) {
        const r = min(rows - 2, floor(fr));
        const c = min(columns - 2, floor(fc));
        const tr = fr - r;
        const tc = fc - c;
        const i = r * columns + c;
        const top = hu[i] + (hu[i + 1] - hu[i]) * tc;
        const bottom = hu[i + columns] + (hu[i + columns + 1] - hu[i + columns]) * tc;
        value = top + (bottom - top) * tr;
      }
      const out = (v * n + u) * CHANNELS;
      for (let k = 0; k < CHANNELS; k++) {
        const x = (value - lows[k]) * scales[k];
        data[out + k] = x < 0 ? 0 : x > 1 ? 1 : x;
      }
    }
  }
  return {
    data,
    slice,
    centre,
    spacing,
    bodyAreaMm2: body.bodyAreaMm2,
    lungFraction: body.lungFraction,
  };
}

/**
 * The slices worth classifying: enough body (at least a fifth of the largest cross-section) and
 * not mostly lung. Evenly thinned to at most `max`, so a 500-slice series costs what a 50-slice
 * one does; a series where nothing qualifies keeps its middle slices.
 */
export function informativeSlices<
  T extends Pick<PreprocessedSlice, 'bodyAreaMm2' | 'lungFraction'>,
>(slices: T[], max = 48): T[] {
  const largest = Math.max(0, ...slices.map((s) => s.bodyAreaMm2));
  let kept = slices.filter(
    (s) => s.bodyAreaMm2 >= 0.2 * largest && s.bodyAreaMm2 > 10000 && s.lungFraction < 0.35,
  );
  if (kept.length === 0)
    kept = slices.slice(floor(slices.length / 3), ceil((2 * slices.length) / 3) || 1);
  if (kept.length <= max) return kept;
  return Array.from({ length: max }, (_, i) => kept[floor(((i + 0.5) * kept.length) / max)]);
}
