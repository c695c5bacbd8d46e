import { promises as fs } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { InvalidInputError } from '../errors';
import { sliceNormal } from './assemble';
import type { SeriesGeometry } from './types';

/**
 * Writes a uint8 volume on a series' grid as NIfTI-1 (.nii.gz): voxel (column, row, slice) has
 * the series' LPS geometry, stored as the RAS+ sform and qform NIfTI expects. Label maps written
 * so line up with their CT voxel for voxel.
 */
export async function writeNiftiLabels(
  file: string,
  data: Uint8Array,
  dims: { columns: number; rows: number; slices: number },
  geometry: SeriesGeometry,
): Promise<void> {
  const { columns, rows, slices } = dims;
  if (data.length !== columns * rows * slices) {
    throw new InvalidInputError(
      `label volume has ${data.length} voxels, expected ${columns * rows * slices}`,
    );
  }
  const [rx, ry, rz, cx, cy, cz] = geometry.orientation;
  const [rowSpacing, columnSpacing] = geometry.pixelSpacing;
  const p0 = geometry.positions[0];
  const step =
    slices > 1
      ? geometry.positions[1].map((v, i) => v - p0[i])
      : sliceNormal(geometry.orientation).map((v) => v * geometry.sliceSpacing);
  // Columns of the LPS affine: along i (columns), j (rows), k (slices); RAS negates x and y.
  const lps = [
    [rx * columnSpacing, cx * rowSpacing, step[0], p0[0]],
    [ry * columnSpacing, cy * rowSpacing, step[1], p0[1]],
    [rz * columnSpacing, cz * rowSpacing, step[2], p0[2]],
  ];
  const ras = [lps[0].map((v) => -v), lps[1].map((v) => -v), lps[2]];
  const h = new DataView(new ArrayBuffer(352));
  h.setInt32(0, 348, true);
  [3, columns, rows, slices, 1, 1, 1, 1].forEach((d, i) => h.setInt16(40 + 2 * i, d, true));
  h.setInt16(70, 2, true); // uint8
  h.setInt16(72, 8, true);
  const stepLength = Math.hypot(step[0], step[1], step[2]);
  [1, columnSpacing, rowSpacing, stepLength, 1, 1, 1, 1].forEach((v, i) =>
    h.setFloat32(76 + 4 * i, v, true),
  );
  h.setFloat32(108, 352, true);
  h.setFloat32(112, 1, true);
  h.setUint8(123, 10); // xyzt_units: mm, s
  h.setInt16(254, 1, true); // sform_code: scanner
  ras.forEach((row, r) => row.forEach((v, c) => h.setFloat32(280 + 16 * r + 4 * c, v, true)));
  [0x6e, 0x2b, 0x31, 0].forEach((b, i) => h.setUint8(344 + i, b));
  const bytes = new Uint8Array(352 + data.length);
  bytes.set(new Uint8Array(h.buffer), 0);
  bytes.set(data, 352);
  const tmp = `${file}.partial`;
  await fs.writeFile(tmp, gzipSync(bytes, { level: 6 }));
  await fs.rename(tmp, file);
}
