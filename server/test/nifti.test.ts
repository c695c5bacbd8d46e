import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readSeries } from '../src/series/read-series';
import { InvalidInputError, TruncatedFileError } from '../src/errors';
import { tempDir } from './helpers/series';

interface NiftiSpec {
  dims: [number, number, number];
  data: Int16Array;
  sform?: number[][]; // 3x4, RAS+
  qform?: {
    quatern: [number, number, number];
    offset: [number, number, number];
    pixdim: [number, number, number];
    qfac: 1 | -1;
  };
  slope?: number;
  intercept?: number;
  ndim?: number;
}

/** A minimal single-file NIfTI-1 (n+1) with int16 voxels. */
function nifti(spec: NiftiSpec): Uint8Array {
  const header = new DataView(new ArrayBuffer(352));
  header.setInt32(0, 348, true);
  header.setInt16(40, spec.ndim ?? 3, true);
  spec.dims.forEach((d, i) => header.setInt16(42 + 2 * i, d, true));
  if ((spec.ndim ?? 3) > 3) header.setInt16(48, 2, true);
  header.setInt16(70, 4, true); // int16
  header.setInt16(72, 16, true);
  const pix = spec.qform?.pixdim ?? [1, 1, 1];
  header.setFloat32(76, spec.qform?.qfac ?? 1, true);
  pix.forEach((p, i) => header.setFloat32(80 + 4 * i, p, true));
  header.setFloat32(108, 352, true);
  header.setFloat32(112, spec.slope ?? 1, true);
  header.setFloat32(116, spec.intercept ?? 0, true);
  if (spec.qform) {
    header.setInt16(252, 1, true);
    spec.qform.quatern.forEach((q, i) => header.setFloat32(256 + 4 * i, q, true));
    spec.qform.offset.forEach((o, i) => header.setFloat32(268 + 4 * i, o, true));
  }
  if (spec.sform) {
    header.setInt16(254, 1, true);
    spec.sform.forEach((row, r) =>
      row.forEach((v, c) => header.setFloat32(280 + 16 * r + 4 * c, v, true)),
    );
  }
  [0x6e, 0x2b, 0x31, 0].forEach((b, i) => header.setUint8(344 + i, b));
  const out = new Uint8Array(352 + spec.data.byteLength);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(new Uint8Array(spec.data.buffer), 352);
  return out;
}

const dims: [number, number, number] = [4, 3, 5];
// Voxel value encodes its indices: 100k + 10j + i.
const data = Int16Array.from({ length: 60 }, (_, n) => {
  const i = n % 4;
  const j = Math.floor(n / 4) % 3;
  const k = Math.floor(n / 12);
  return 100 * k + 10 * j + i;
});

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(await tempDir(), name);
  await fs.writeFile(file, bytes);
  return file;
}

describe('reading NIfTI', () => {
  it('turns an RAS+ sform into DICOM LPS geometry with voxels in place', async () => {
    const sform = [
      [2, 0, 0, -10],
      [0, 2.5, 0, 20],
      [0, 0, 3, -30],
    ];
    const series = await readSeries(
      await write('a.nii', nifti({ dims, data, sform, slope: 2, intercept: -1024 })),
    );
    expect([series.columns, series.rows, series.slices]).toEqual([4, 3, 5]);
    // i goes toward RAS +x = patient right = LPS -x.
    expect(series.geometry.orientation).toEqual([-1, 0, 0, 0, -1, 0]);
    expect(series.geometry.pixelSpacing).toEqual([2.5, 2]);
    expect(series.geometry.sliceSpacing).toBeCloseTo(3);
    expect(series.geometry.positions[0]).toEqual([10, -20, -30]);
    // The normal of (-x, -y) is +z, along k: slices keep their order.
    expect(series.geometry.positions[4][2]).toBeCloseTo(-18);
    const at = (s: number, r: number, c: number): number => series.hu[(s * 3 + r) * 4 + c];
    expect(at(0, 0, 0)).toBe(-1024);
    expect(at(2, 1, 3)).toBe((200 + 10 + 3) * 2 - 1024);
  });

  it('reverses slices whose k axis runs against the normal, and reads .nii.gz', async () => {
    const sform = [
      [-1, 0, 0, 0],
      [0, -1, 0, 0],
      [0, 0, -2, 50],
    ];
    const series = await readSeries(
      await write('b.nii.gz', gzipSync(nifti({ dims, data, sform }))),
    );
    // i, j toward LPS +x, +y: normal +z, but k runs toward -z, so slice 0 is k = 4.
    expect(series.geometry.orientation).toEqual([1, 0, 0, 0, 1, 0]);
    expect(series.geometry.positions.map((p) => p[2])).toEqual([42, 44, 46, 48, 50]);
    expect(series.hu[0]).toBe(400);
    expect(series.source.kind).toBe('nifti');
  });

  it('uses the qform when there is no sform', async () => {
    // Quaternion (0, 0, 1): 180 degrees about z, so i -> RAS -x = LPS +x.
    const series = await readSeries(
      await write(
        'q.nii',
        nifti({
          dims,
          data,
          qform: { quatern: [0, 0, 1], offset: [5, 6, 7], pixdim: [1.5, 1.5, 4], qfac: 1 },
        }),
      ),
    );
    expect(series.geometry.orientation.map((v) => Math.round(v))).toEqual([1, 0, 0, 0, 1, 0]);
    expect(series.geometry.positions[0]).toEqual([-5, -6, 7]);
    expect(series.geometry.sliceSpacing).toBeCloseTo(4);
  });

  it('refuses truncated, 4-D and non-NIfTI files', async () => {
    const whole = nifti({
      dims,
      data,
      sform: [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
      ],
    });
    await expect(readSeries(await write('t.nii', whole.subarray(0, 300)))).rejects.toBeInstanceOf(
      TruncatedFileError,
    );
    await expect(readSeries(await write('t2.nii', whole.subarray(0, 400)))).rejects.toThrow(
      /voxel data is truncated/,
    );
    await expect(
      readSeries(await write('g.nii.gz', gzipSync(whole).subarray(0, 50))),
    ).rejects.toBeInstanceOf(TruncatedFileError);
    await expect(readSeries(await write('4d.nii', nifti({ dims, data, ndim: 4 })))).rejects.toThrow(
      /4-D NIfTI/,
    );
    await expect(readSeries(await write('x.nii', new Uint8Array(400)))).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});
