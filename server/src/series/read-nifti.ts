import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { deterministicUid } from '../util/uid';
import { InvalidInputError, NotFoundError, TruncatedFileError } from '../errors';
import { sliceNormal } from './assemble';
import type { InMemorySeries, Orientation, Vec3 } from './types';

type Matrix = [number[], number[], number[]]; // 3x4 voxel -> RAS+ world (mm)

interface NiftiHeader {
  littleEndian: boolean;
  dims: [number, number, number];
  datatype: number;
  voxOffset: number;
  slope: number;
  intercept: number;
  affine: Matrix;
}

const DATATYPES: Record<
  number,
  { bytes: number; read: (v: DataView, o: number, le: boolean) => number }
> = {
  2: { bytes: 1, read: (v, o) => v.getUint8(o) },
  4: { bytes: 2, read: (v, o, le) => v.getInt16(o, le) },
  8: { bytes: 4, read: (v, o, le) => v.getInt32(o, le) },
  16: { bytes: 4, read: (v, o, le) => v.getFloat32(o, le) },
  64: { bytes: 8, read: (v, o, le) => v.getFloat64(o, le) },
  256: { bytes: 1, read: (v, o) => v.getInt8(o) },
  512: { bytes: 2, read: (v, o, le) => v.getUint16(o, le) },
  768: { bytes: 4, read: (v, o, le) => v.getUint32(o, le) },
};

function quaternionAffine(v: DataView, le: boolean, pixdim: number[]): Matrix {
  const b = v.getFloat32(256, le);
  const c = v.getFloat32(260, le);
  const d = v.getFloat32(264, le);
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const qfac = pixdim[0] < 0 ? -1 : 1;
  const [dx, dy, dz] = [pixdim[1], pixdim[2], pixdim[3] * qfac];
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const offset = [v.getFloat32(268, le), v.getFloat32(272, le), v.getFloat32(276, le)];
  return r.map((row, i) => [row[0] * dx, row[1] * dy, row[2] * dz, offset[i]]) as Matrix;
}

function parseHeader(bytes: Uint8Array, location: string): NiftiHeader {
  if (bytes.byteLength < 348)
    throw new TruncatedFileError(`${location}: shorter than a NIfTI-1 header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  if (v.getInt32(0, true) !== 348) {
    if (v.getInt32(0, false) === 348) le = false;
    else if (v.getInt32(0, true) === 540) {
      throw new InvalidInputError(`${location}: NIfTI-2 is not supported (NIfTI-1 only)`);
    } else throw new InvalidInputError(`${location} is not a NIfTI-1 file`);
  }
  const magic = String.fromCharCode(bytes[344], bytes[345], bytes[346]);
  if (magic !== 'n+1')
    throw new InvalidInputError(`${location}: NIfTI magic "${magic}" is not single-file n+1`);
  const ndim = v.getInt16(40, le);
  const dims = [v.getInt16(42, le), v.getInt16(44, le), ndim >= 3 ? v.getInt16(46, le) : 1];
  for (let k = 4; k <= ndim; k++) {
    if (v.getInt16(40 + 2 * k, le) > 1) {
      throw new InvalidInputError(`${location}: ${ndim}-D NIfTI; a CT series is 3-D`);
    }
  }
  if (dims.some((d) => d < 1))
    throw new InvalidInputError(`${location}: bad NIfTI dimensions ${dims.join('x')}`);
  const datatype = v.getInt16(70, le);
  if (!DATATYPES[datatype])
    throw new InvalidInputError(`${location}: NIfTI datatype ${datatype} is not supported`);
  const pixdim = Array.from({ length: 8 }, (_, i) => v.getFloat32(76 + 4 * i, le));
  const slope = v.getFloat32(112, le);
  const qformCode = v.getInt16(252, le);
  const sformCode = v.getInt16(254, le);
  let affine: Matrix;
  if (sformCode > 0) {
    affine = [0, 1, 2].map((r) =>
      [0, 1, 2, 3].map((c) => v.getFloat32(280 + 16 * r + 4 * c, le)),
    ) as Matrix;
  } else if (qformCode > 0) {
    affine = quaternionAffine(v, le, pixdim);
  } else {
    affine = [
      [pixdim[1], 0, 0, 0],
      [0, pixdim[2], 0, 0],
      [0, 0, pixdim[3], 0],
    ];
  }
  return {
    littleEndian: le,
    dims: dims as [number, number, number],
    datatype,
    voxOffset: Math.max(352, Math.round(v.getFloat32(108, le))),
    slope: slope === 0 || !Number.isFinite(slope) ? 1 : slope,
    intercept: Number.isFinite(v.getFloat32(116, le)) ? v.getFloat32(116, le) : 0,
    affine,
  };
}

/**
 * Reads a NIfTI-1 volume (.nii or .nii.gz) of HU as a CT series. Orientation comes from the sform
 * (else the qform); NIfTI's RAS+ world is turned into DICOM's LPS+, voxel i along the rows' direction
 * (columns), j down the columns (rows), k across slices, and slices are ordered along the normal.
 */
export async function readNifti(file: string): Promise<InMemorySeries> {
  let bytes: Uint8Array = await fs.readFile(file).catch(() => {
    throw new NotFoundError(`${file} does not exist`);
  });
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new TruncatedFileError(`${file}: gzip stream is truncated or corrupt`, {
        cause: error,
      });
    }
  }
  const h = parseHeader(bytes, file);
  const [nx, ny, nz] = h.dims;
  const type = DATATYPES[h.datatype];
  const need = h.voxOffset + nx * ny * nz * type.bytes;
  if (bytes.byteLength < need) {
    throw new TruncatedFileError(
      `${file}: voxel data is truncated (${bytes.byteLength} of ${need} bytes)`,
    );
  }
  // RAS -> LPS: negate x and y.
  // (+ 0 turns -0 into 0, so geometry compares and prints cleanly.)
  const lps = (m: Matrix, c: number): Vec3 => [-m[0][c] + 0, -m[1][c] + 0, m[2][c] + 0];
  const iAxis = lps(h.affine, 0);
  const jAxis = lps(h.affine, 1);
  const kAxis = lps(h.affine, 2);
  const origin = lps(h.affine, 3);
  const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
  const rowDir = iAxis.map((x) => x / norm(iAxis)) as Vec3;
  const colDir = jAxis.map((x) => x / norm(jAxis)) as Vec3;
  const orientation = [...rowDir, ...colDir] as Orientation;
  const normal = sliceNormal(orientation);
  const forward = kAxis[0] * normal[0] + kAxis[1] * normal[1] + kAxis[2] * normal[2] >= 0;

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = nx * ny;
  const hu = new Float32Array(size * nz);
  for (let s = 0; s < nz; s++) {
    const k = forward ? s : nz - 1 - s;
    const src = h.voxOffset + k * size * type.bytes;
    const dst = s * size;
    for (let p = 0; p < size; p++) {
      hu[dst + p] = type.read(view, src + p * type.bytes, h.littleEndian) * h.slope + h.intercept;
    }
  }
  const positions = Array.from({ length: nz }, (_, s) => {
    const k = forward ? s : nz - 1 - s;
    return [0, 1, 2].map((c) => origin[c] + k * kAxis[c]) as Vec3;
  });
  // UIDs from a digest of the file, so reading it again gives the same ones.
  const digest = createHash('sha256').update(bytes).digest('hex');
  const uidFrom = (salt: number): string => deterministicUid('nifti', digest, salt);
  const studyInstanceUid = uidFrom(1);
  const seriesInstanceUid = uidFrom(2);
  return {
    studyInstanceUid,
    seriesInstanceUid,
    frameOfReferenceUid: uidFrom(3),
    rows: ny,
    columns: nx,
    slices: nz,
    hu,
    geometry: {
      positions,
      orientation,
      pixelSpacing: [norm(jAxis), norm(iAxis)],
      sliceSpacing: norm(kAxis),
    },
    instances: Array.from({ length: nz }, (_, s) => ({
      sopInstanceUid: uidFrom(100 + s),
      sopClassUid: '',
    })),
    header: {
      Modality: 'CT',
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: seriesInstanceUid,
      SeriesDescription: path.basename(file),
    },
    source: { kind: 'nifti', location: file },
  };
}
