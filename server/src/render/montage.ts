import { sliceView, type CtSeries, type HuArray, type InMemorySeries } from '../series/types';

/** Window centre/width to 8-bit grey. */
export function windowSlice(hu: HuArray, centre: number, width: number, out: Uint8Array): void {
  const lo = centre - width / 2;
  const scale = 255 / width;
  for (let i = 0; i < hu.length; i++) {
    const v = (hu[i] - lo) * scale;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** Resamples one slice of a series to size x size grey pixels (nearest neighbour), windowed. */
export function thumbnail(
  series: CtSeries,
  slice: number,
  size: number,
  window: [number, number] = [40, 400],
): Uint8Array {
  const { rows, columns } = series;
  const src = sliceView(series, slice);
  const grey = new Uint8Array(rows * columns);
  windowSlice(src, window[0], window[1], grey);
  // Radiological view: patient right on the image left, anterior up, whatever the orientation.
  const [rx, , , , cy] = series.geometry.orientation;
  const flipX = rx < 0;
  const flipY = cy < 0;
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const r = Math.min(rows - 1, Math.floor(((flipY ? size - 1 - y : y) + 0.5) * (rows / size)));
    for (let x = 0; x < size; x++) {
      const c = Math.min(
        columns - 1,
        Math.floor(((flipX ? size - 1 - x : x) + 0.5) * (columns / size)),
      );
      out[y * size + x] = grey[r * columns + c];
    }
  }
  return out;
}

/** Tiles square grey thumbnails into a grid. */
export function tile(
  tiles: Uint8Array[],
  size: number,
  perRow: number,
): { pixels: Uint8Array; width: number; height: number } {
  const rowsOfTiles = Math.ceil(tiles.length / perRow);
  const width = perRow * size;
  const height = rowsOfTiles * size;
  const pixels = new Uint8Array(width * height);
  tiles.forEach((t, n) => {
    const ox = (n % perRow) * size;
    const oy = Math.floor(n / perRow) * size;
    for (let y = 0; y < size; y++)
      pixels.set(t.subarray(y * size, (y + 1) * size), (oy + y) * width + ox);
  });
  return { pixels, width, height };
}

/** A coronal reformat through the middle row, scaled to size x size with true proportions. */
export function coronalThumbnail(
  series: InMemorySeries,
  size: number,
  window: [number, number] = [40, 400],
): Uint8Array {
  const { rows, columns, slices } = series;
  const row = Math.floor(rows / 2);
  const width = columns * series.geometry.pixelSpacing[1];
  const height = Math.max(1, slices * series.geometry.sliceSpacing);
  const scale = Math.max(width, height) / size;
  const flipX = series.geometry.orientation[0] < 0;
  const out = new Uint8Array(size * size);
  const lo = window[0] - window[1] / 2;
  for (let y = 0; y < size; y++) {
    // Head up: the last slice (highest z) at the top.
    const s =
      slices -
      1 -
      Math.floor(((y + 0.5) * scale - (size * scale - height) / 2) / series.geometry.sliceSpacing);
    for (let x = 0; x < size; x++) {
      const cMm = (x + 0.5) * scale - (size * scale - width) / 2;
      let c = Math.floor(cMm / series.geometry.pixelSpacing[1]);
      if (flipX) c = columns - 1 - c;
      if (s < 0 || s >= slices || c < 0 || c >= columns) continue;
      const v = ((series.hu[(s * rows + row) * columns + c] - lo) * 255) / window[1];
      out[y * size + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
