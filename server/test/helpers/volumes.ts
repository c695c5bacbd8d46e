import { promises as fs } from 'node:fs';
import type { InMemorySeries } from '../../src/series/types';

/**
 * Volumes made in the tests for the scope check: a InMemorySeries whose HU come from `value(x, y, z)`
 * (mm from the volume's centre, z along the slices).
 */
export function volume(
  value: (x: number, y: number, z: number) => number,
  options: { size?: number; spacing?: number; slices?: number; sliceSpacing?: number } = {},
): InMemorySeries {
  const n = options.size ?? 128;
  const ps = options.spacing ?? 3.5;
  const slices = options.slices ?? 30;
  const dz = options.sliceSpacing ?? 5;
  const hu = new Float32Array(n * n * slices);
  for (let s = 0; s < slices; s++)
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++)
        hu[(s * n + r) * n + c] = value((c - n / 2) * ps, (r - n / 2) * ps, s * dz);
  const half = (n / 2) * ps;
  return {
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.4',
    frameOfReferenceUid: '1.2.3.5',
    rows: n,
    columns: n,
    slices,
    hu,
    geometry: {
      positions: Array.from({ length: slices }, (_, s) => [-half, -half, s * dz]),
      orientation: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [ps, ps],
      sliceSpacing: dz,
    },
    instances: Array.from({ length: slices }, (_, s) => ({
      sopInstanceUid: `1.2.3.6.${s + 1}`,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    })),
    header: {},
    source: { kind: 'files', location: 'made in the test' },
  };
}

const inEllipse = (x: number, y: number, a: number, b: number): boolean =>
  (x / a) ** 2 + (y / b) ** 2 <= 1;

/** A head: brain in a 7 mm skull under thin scalp, air around; no fat, no abdomen. */
export const head = (): InMemorySeries =>
  volume((x, y) => {
    if (!inEllipse(x, y, 80, 95)) return -1000;
    if (!inEllipse(x, y, 76, 91)) return 40; // scalp
    if (!inEllipse(x, y, 69, 84)) return 1100; // skull
    return 35; // brain
  });

/** A chest with no abdomen: both lungs fill most of the body, under a fat rim. */
export const chest = (): InMemorySeries =>
  volume((x, y) => {
    if (!inEllipse(x, y, 170, 120)) return -1000;
    if (!inEllipse(x, y, 160, 110)) return -100; // subcutaneous fat
    if (inEllipse(x - 75, y, 65, 85) || inEllipse(x + 75, y, 65, 85)) return -850;
    return 45; // mediastinum, chest wall
  });

/** An abdomen: liver, a vertebra and bowel in visceral fat, under subcutaneous fat. */
export const abdomen = (): InMemorySeries =>
  volume((x, y) => {
    if (!inEllipse(x, y, 170, 120)) return -1000;
    if (!inEllipse(x, y, 150, 100)) return -100;
    if (inEllipse(x + 70, y + 10, 70, 60)) return 60; // liver
    if (inEllipse(x, y - 70, 20, 20)) return 300; // vertebra
    if (inEllipse(x - 60, y, 40, 40)) return 35; // bowel
    return -90; // visceral fat
  });

/**
 * A volume lying on a scanner bed: a 60 mm foam mattress (-850 HU, lung density) under it, then
 * a 20 mm table top (dense shells over a light core), both wider than the body and open to the
 * air at their ends; with `rails`, dense edges seal the table's core. The body's lowest point is
 * at y = 120 mm.
 */
export const onMattress = (body: InMemorySeries, rails = false): InMemorySeries => {
  const { rows: n, columns, slices } = body;
  const [ps] = body.geometry.pixelSpacing;
  const out = { ...body, hu: Float32Array.from(body.hu) };
  for (let s = 0; s < slices; s++)
    for (let r = 0; r < n; r++) {
      const y = (r - n / 2) * ps;
      for (let c = 0; c < columns; c++) {
        const x = (c - columns / 2) * ps;
        const i = (s * n + r) * columns + c;
        if (Math.abs(x) > 200 || out.hu[i] > -500) continue;
        if (y > 120 && y <= 180) out.hu[i] = -850;
        else if (y > 180 && y <= 200)
          out.hu[i] = y < 184 || y > 196 || (rails && Math.abs(x) > 192) ? 300 : -600;
      }
    }
  return out;
};

/**
 * An abdominal MR volume as it arrives in NIfTI: signal intensities, zero outside the body,
 * nothing near -1000.
 */
export const abdominalMr = (): InMemorySeries =>
  volume((x, y) => {
    if (!inEllipse(x, y, 170, 120)) return 0;
    if (!inEllipse(x, y, 150, 100)) return 900; // fat is bright on T1
    if (inEllipse(x + 70, y + 10, 70, 60)) return 420;
    return 650;
  });

/** Writes a series' values as a NIfTI-1 file of int16 voxels with an sform (as MR exports come). */
export async function writeNiftiVolume(file: string, series: InMemorySeries): Promise<void> {
  const { columns, rows, slices } = series;
  const [ps] = series.geometry.pixelSpacing;
  const h = new DataView(new ArrayBuffer(352));
  h.setInt32(0, 348, true);
  [3, columns, rows, slices, 1, 1, 1, 1].forEach((d, i) => h.setInt16(40 + 2 * i, d, true));
  h.setInt16(70, 4, true); // int16
  h.setInt16(72, 16, true);
  [1, ps, ps, series.geometry.sliceSpacing].forEach((v, i) => h.setFloat32(76 + 4 * i, v, true));
  h.setFloat32(108, 352, true);
  h.setFloat32(112, 1, true);
  h.setInt16(254, 1, true); // sform: scanner
  const sform = [
    [-ps, 0, 0, 0],
    [0, -ps, 0, 0],
    [0, 0, series.geometry.sliceSpacing, 0],
  ];
  sform.forEach((row, r) => row.forEach((v, c) => h.setFloat32(280 + 16 * r + 4 * c, v, true)));
  [0x6e, 0x2b, 0x31, 0].forEach((b, i) => h.setUint8(344 + i, b));
  const voxels = Int16Array.from(series.hu, (v) => Math.round(v));
  const bytes = new Uint8Array(352 + voxels.byteLength);
  bytes.set(new Uint8Array(h.buffer), 0);
  bytes.set(new Uint8Array(voxels.buffer), 352);
  await fs.writeFile(file, bytes);
}
