import type { NaturalDataset } from 'dcmjs';
import { COPIED_FROM_SOURCE } from '../derived/source-modules';
import {
  InconsistentGeometryError,
  InvalidInputError,
  MixedSeriesError,
  SeriesTooLargeError,
} from '../errors';
import { mapLimit } from '../util/limit';
import { decodeFrameToHu } from './decode-frame';
import { stringOf } from './pixel-module';
import type { SliceRecord } from './slice-record';
import { ScratchPlanes, type ScratchSpace } from '../util/planes';
import type {
  CtSeries,
  DicomHeader,
  HuArray,
  HuVolume,
  InMemorySeries,
  Orientation,
  Vec3,
} from './types';

export interface AssembleOptions {
  /**
   * Chooses which slices to read, given each slice's position along the normal (mm, ascending).
   * Returns indices into that list. Only the chosen slices' pixels are fetched and decoded.
   */
  select?: (positionsAlongNormal: number[]) => number[];
  /** Keeps only this AcquisitionNumber, for series that hold several acquisitions. */
  acquisitionNumber?: number;
  /** How many frames are fetched and decoded at once. */
  concurrency?: number;
  /**
   * What the caller keeps per slice besides its HU (maps on the network's input grid): in memory,
   * or in scratch space when `scratch` is given. Counted in the checks below.
   */
  bytesPerSlice?: number;
  /**
   * Refuse, before any pixel is read, a series that would need more memory than the budget: the
   * fixed part, and per slice held in memory its HU, `bytesPerVoxel` beside each voxel and
   * `bytesPerSlice` (all slices; with scratch space only those being decoded).
   */
  memory?: {
    budgetBytes: number;
    fixedBytes?: number;
    bytesPerVoxel: number;
    advice: string;
  };
  /** Called after each slice is decoded. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Keep the HU slices in scratch files here instead of memory (an analysis of a long series:
   * memory stays flat); the caller closes the space when done with the series.
   */
  scratch?: ScratchSpace;
}

/** Options that keep the HU volume in memory. */
export type InMemoryOptions = AssembleOptions & { scratch?: undefined };

/** Attributes copied into derived objects: patient, study, series, equipment, frame of reference, CT acquisition. */
const HEADER_KEYWORDS = [
  'SpecificCharacterSet',
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'PatientBirthDate',
  'PatientSex',
  'PatientAge',
  'PatientSize',
  'PatientWeight',
  'EthnicGroup',
  'PatientComments',
  'PatientIdentityRemoved',
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
  'StudyDescription',
  'Modality',
  'SeriesInstanceUID',
  'SeriesNumber',
  'SeriesDescription',
  'SeriesDate',
  'SeriesTime',
  'BodyPartExamined',
  'PatientPosition',
  'ProtocolName',
  'Laterality',
  'FrameOfReferenceUID',
  'PositionReferenceIndicator',
  'Manufacturer',
  'InstitutionName',
  'StationName',
  'ManufacturerModelName',
  'DeviceSerialNumber',
  'SoftwareVersions',
  'KVP',
  'SliceThickness',
  'ConvolutionKernel',
  'ReconstructionDiameter',
  'ContrastBolusAgent',
  'ContrastBolusRoute',
  'ContrastBolusStartTime',
  'AcquisitionNumber',
  'ImageType',
  'LossyImageCompression',
  'LossyImageCompressionRatio',
  'LossyImageCompressionMethod',
];

const mb = (bytes: number): string => String(Math.round(bytes / 2 ** 20));

export function pickHeader(ds: NaturalDataset): DicomHeader {
  const header: DicomHeader = {};
  for (const k of [...HEADER_KEYWORDS, ...COPIED_FROM_SOURCE])
    if (ds[k] !== undefined) header[k] = ds[k];
  return header;
}

/** Whole-number HU into 16 bits, saturating at -32768 and 32767 (no wrap-around). */
function saturateInto(values: Float32Array, target: HuArray): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    target[i] = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
  }
}

const dot = (a: readonly number[], b: readonly number[]): number =>
  a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

export function sliceNormal(o: Orientation): Vec3 {
  return [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
}

const near = (a: readonly number[], b: readonly number[], tolerance: number): boolean =>
  a.every((v, i) => Math.abs(v - b[i]) <= tolerance);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function chooseAcquisition(
  records: SliceRecord[],
  acquisitionNumber: number | undefined,
): SliceRecord[] {
  if (acquisitionNumber === undefined) return records;
  const kept = records.filter((r) => (r.acquisitionNumber ?? 0) === acquisitionNumber);
  if (kept.length === 0) {
    const acquisitions = [...new Set(records.map((r) => r.acquisitionNumber ?? 0))].sort(
      (a, b) => a - b,
    );
    throw new InvalidInputError(
      `acquisition ${acquisitionNumber} is not in this series (acquisitions: ${acquisitions.join(', ')})`,
    );
  }
  return kept;
}

function assertOneGrid(records: SliceRecord[]): void {
  const ref = records[0];
  for (const r of records) {
    if (r.seriesInstanceUid !== ref.seriesInstanceUid) {
      throw new MixedSeriesError(
        `${r.location}: belongs to series ${r.seriesInstanceUid}, not ${ref.seriesInstanceUid}`,
      );
    }
    if (r.pixel.rows !== ref.pixel.rows || r.pixel.columns !== ref.pixel.columns) {
      throw new InconsistentGeometryError(
        `${r.location}: ${r.pixel.columns}x${r.pixel.rows} pixels, other slices have ${ref.pixel.columns}x${ref.pixel.rows}`,
      );
    }
    if (!near(r.orientation, ref.orientation, 1e-3)) {
      throw new InconsistentGeometryError(
        `${r.location}: ImageOrientationPatient differs from the other slices`,
      );
    }
    if (!near(r.pixelSpacing, ref.pixelSpacing, 1e-3)) {
      throw new InconsistentGeometryError(
        `${r.location}: PixelSpacing ${r.pixelSpacing.join('\\')} differs from ${ref.pixelSpacing.join('\\')}`,
      );
    }
  }
}

/**
 * Sorts slices along the normal of their common orientation (never by file name or
 * InstanceNumber), checks that they form one regular stack, then reads the chosen ones into HU.
 */
export async function assembleSeries(
  allRecords: SliceRecord[],
  source: CtSeries['source'],
  options?: InMemoryOptions,
): Promise<InMemorySeries>;
export async function assembleSeries(
  allRecords: SliceRecord[],
  source: CtSeries['source'],
  options: AssembleOptions,
): Promise<CtSeries>;
export async function assembleSeries(
  allRecords: SliceRecord[],
  source: CtSeries['source'],
  options: AssembleOptions = {},
): Promise<CtSeries> {
  if (allRecords.length === 0) throw new InvalidInputError(`${source.location}: no CT slices`);
  const records = chooseAcquisition(allRecords, options.acquisitionNumber);
  assertOneGrid(records);
  const orientation = records[0].orientation;
  const normal = sliceNormal(orientation);
  const sorted = records.map((r) => ({ r, d: dot(r.position, normal) })).sort((a, b) => a.d - b.d);
  const pixelSpacing = records[0].pixelSpacing;

  const gaps = sorted.slice(1).map((s, i) => s.d - sorted[i].d);
  const duplicate = gaps.findIndex((g) => g < 1e-3);
  if (duplicate >= 0) {
    const acquisitions = [...new Set(records.map((r) => r.acquisitionNumber ?? 0))].sort(
      (a, b) => a - b,
    );
    if (acquisitions.length > 1) {
      throw new MixedSeriesError(
        `${source.location}: series holds ${acquisitions.length} acquisitions over the same positions ` +
          `(AcquisitionNumber ${acquisitions.join(', ')}); choose one`,
      );
    }
    throw new InconsistentGeometryError(
      `${source.location}: two slices at the same position ${sorted[duplicate].d.toFixed(2)} mm ` +
        `(${sorted[duplicate].r.location}, ${sorted[duplicate + 1].r.location})`,
    );
  }
  let sliceSpacing: number;
  if (gaps.length === 0) {
    sliceSpacing = Number(
      stringOf(records[0].dataset.SpacingBetweenSlices) ??
        stringOf(records[0].dataset.SliceThickness) ??
        1,
    );
  } else {
    sliceSpacing = median(gaps);
    const uneven = gaps.findIndex((g) => Math.abs(g - sliceSpacing) > 0.05 * sliceSpacing + 1e-3);
    if (uneven >= 0) {
      throw new InconsistentGeometryError(
        `${source.location}: uneven slice spacing, ${gaps[uneven].toFixed(2)} mm between slices ${uneven + 1} and ` +
          `${uneven + 2} where the series has ${sliceSpacing.toFixed(2)} mm (missing or extra slices?)`,
      );
    }
    // Positions must advance along the normal: an in-plane drift means a sheared stack.
    const step = sorted
      .slice(1)
      .map((s, i) => s.r.position.map((p, k) => p - sorted[i].r.position[k]));
    const drift = step.map((v, i) => Math.sqrt(Math.max(0, dot(v, v) - gaps[i] * gaps[i])));
    const sheared = drift.findIndex((d) => d > pixelSpacing[0]);
    if (sheared >= 0) {
      // Say what was measured: a tilted gantry does this, but so does any sheared or shuffled stack.
      throw new InconsistentGeometryError(
        `${source.location}: slice positions move ${drift[sheared].toFixed(2)} mm sideways between slices ${sheared + 1} and ${sheared + 2} (${gaps[sheared].toFixed(2)} mm along the slice normal); only stacks whose slices lie straight along their normal are read (a tilted gantry or sheared stack is not)`,
      );
    }
  }

  const positionsAlongNormal = sorted.map((s) => s.d);
  const chosen = options.select
    ? options.select(positionsAlongNormal)
    : positionsAlongNormal.map((_, i) => i);
  if (chosen.length === 0) throw new InvalidInputError(`${source.location}: no slice selected`);
  for (let i = 0; i < chosen.length; i++) {
    const c = chosen[i];
    if (!Number.isInteger(c) || c < 0 || c >= sorted.length || (i > 0 && c <= chosen[i - 1])) {
      throw new InvalidInputError(
        `slice selection must be increasing indices below ${sorted.length}, got ${chosen.join(',')}`,
      );
    }
  }
  const picked = chosen.map((i) => sorted[i].r);
  const { rows, columns } = picked[0].pixel;
  const size = rows * columns;
  const whole = picked.every(
    (r) => Number.isInteger(r.pixel.rescaleSlope) && Number.isInteger(r.pixel.rescaleIntercept),
  );
  const concurrency = options.concurrency ?? 8;
  const huBytes = whole ? 2 : 4;
  const perSlice = options.bytesPerSlice ?? 0;
  const what = `${source.location} (${picked.length} slices of ${columns} x ${rows})`;
  // Scratch space for the whole analysis (HU and maps) is reserved now, before any pixel is read.
  options.scratch?.reserve(picked.length * (size * huBytes + perSlice), what);
  if (options.memory) {
    // The HU volume (2 or 4 bytes a voxel, below) and what the caller says it needs beside it;
    // with scratch files, only the slices being decoded are in memory.
    const held = options.scratch ? Math.min(concurrency, picked.length) : picked.length;
    const needed =
      (options.memory.fixedBytes ?? 0) +
      held * size * (huBytes + options.memory.bytesPerVoxel) +
      (options.scratch ? 0 : picked.length * perSlice);
    if (needed > options.memory.budgetBytes)
      throw new SeriesTooLargeError(
        `${source.location}: ${picked.length} slices of ${columns} x ${rows} need about ${mb(needed)} MB, over the ${mb(options.memory.budgetBytes)} MB budget; ${options.memory.advice}`,
      );
  }
  // Whole-number HU (an integer slope and intercept: most DICOM CT) are kept in 16 bits, half
  // the memory of float32. CT holds nothing below air or above about 31000 HU (the extended
  // scale), so values beyond the 16-bit range (an undeclared padding value, a stored range wider
  // than the data) saturate rather than cost a second, 4-byte copy.
  const hu: HuVolume = options.scratch
    ? whole
      ? options.scratch.planes(Int16Array, picked.length, size, what)
      : options.scratch.planes(Float32Array, picked.length, size, what)
    : whole
      ? new Int16Array(size * picked.length)
      : new Float32Array(size * picked.length);
  // Scratch planes take each slice once decoded; a volume in memory is decoded into directly.
  const inScratch = hu instanceof ScratchPlanes ? hu : undefined;
  const inMemory = inScratch ? undefined : (hu as HuArray);
  const spare: Float32Array[] = []; // decoding buffers, one per slice in flight
  const spare16: Int16Array[] = []; // 16-bit slices on their way to scratch
  let done = 0;
  await mapLimit(picked, concurrency, async (r, i) => {
    const target: HuArray = inMemory
      ? inMemory.subarray(i * size, (i + 1) * size)
      : whole
        ? (spare16.pop() ?? new Int16Array(size))
        : (spare.pop() ?? new Float32Array(size));
    const out = target instanceof Float32Array ? target : (spare.pop() ?? new Float32Array(size));
    if (r.loadInto) await r.loadInto(out);
    else await decodeFrameToHu(await r.load(), r.pixel, out, r.location);
    if (out !== target) {
      saturateInto(out, target);
      spare.push(out);
    }
    if (inScratch) {
      inScratch.write(i, target);
      if (target instanceof Int16Array) spare16.push(target);
      else spare.push(target);
    }
    options.onProgress?.(++done, picked.length);
  });
  const selectedGaps = picked
    .slice(1)
    .map((_, i) => positionsAlongNormal[chosen[i + 1]] - positionsAlongNormal[chosen[i]]);

  const first = picked[0];
  const blank = [
    first.studyInstanceUid ? '' : 'StudyInstanceUID',
    first.seriesInstanceUid ? '' : 'SeriesInstanceUID',
  ].filter(Boolean);
  return {
    ...(blank.length
      ? {
          warnings: [
            `${blank.join(' and ')} blank: read by geometry alone; derived objects cannot reference this series`,
          ],
        }
      : {}),
    studyInstanceUid: first.studyInstanceUid,
    seriesInstanceUid: first.seriesInstanceUid,
    frameOfReferenceUid: first.frameOfReferenceUid,
    rows,
    columns,
    slices: picked.length,
    hu,
    geometry: {
      positions: picked.map((r) => [...r.position] as Vec3),
      orientation: [...orientation] as Orientation,
      pixelSpacing: [pixelSpacing[0], pixelSpacing[1]],
      sliceSpacing: selectedGaps.length > 0 ? median(selectedGaps) : sliceSpacing,
    },
    instances: picked.map((r) => ({
      sopInstanceUid: r.sopInstanceUid,
      sopClassUid: r.sopClassUid,
      ...(r.frameNumber !== undefined ? { frameNumber: r.frameNumber } : {}),
    })),
    header: pickHeader(first.dataset),
    source,
  };
}
