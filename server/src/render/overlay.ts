import { sliceView, type CtSeries } from '../series/types';
import { heat } from './colormap';

export interface OverlayOptions {
  window?: [number, number];
  /** Map value shown at full colour (values are divided by it). */
  scale: number;
  /** Fraction of `scale` below which the CT shows through untouched. */
  threshold?: number;
  opacity?: number;
}

/**
 * One CT slice in grey with its map (`values`, rows x columns) fused over it in colour, in the
 * radiological view, as RGB pixels (rows x columns x 3). The colour's weight grows with the
 * value above the threshold.
 */
export function fuseSlice(
  series: CtSeries,
  slice: number,
  values: Float32Array,
  options: OverlayOptions,
): Uint8Array {
  const { rows, columns } = series;
  const plane = rows * columns;
  const hu = sliceView(series, slice);
  const [centre, width] = options.window ?? [40, 400];
  const lo = centre - width / 2;
  const threshold = options.threshold ?? 0.2;
  const opacity = options.opacity ?? 0.7;
  const [rx, , , , cy] = series.geometry.orientation;
  const inverseScale = options.scale > 0 ? 1 / options.scale : 0;
  const out = new Uint8Array(plane * 3);
  for (let y = 0; y < rows; y++) {
    const r = cy < 0 ? rows - 1 - y : y;
    for (let x = 0; x < columns; x++) {
      const c = rx < 0 ? columns - 1 - x : x;
      const i = r * columns + c;
      // No Math.* in this loop: it runs for every pixel of every slice (and global lookups are
      // slow in some runtimes, jest's vm among them).
      const gv = ((hu[i] - lo) / width) * 255;
      const g = gv < 0 ? 0 : gv > 255 ? 255 : gv;
      const t = inverseScale * values[i];
      const o = (y * columns + x) * 3;
      if (t <= threshold) {
        out[o] = out[o + 1] = out[o + 2] = g;
        continue;
      }
      const ramp = (t - threshold) / (1 - threshold) + 0.25;
      const a = opacity * (ramp > 1 ? 1 : ramp);
      const colour = heat(t);
      out[o] = g * (1 - a) + colour[0] * a + 0.5;
      out[o + 1] = g * (1 - a) + colour[1] * a + 0.5;
      out[o + 2] = g * (1 - a) + colour[2] * a + 0.5;
    }
  }
  return out;
}
