import type { NaturalDataset } from 'dcmjs';
import {
  InvalidInputError,
  InconsistentGeometryError,
  MissingPixelDataError,
  UnsupportedModalityError,
} from '../errors';
import type { EncodedFrame } from './decode-frame';
import { numberOf, numbersOf, readPixelModule, stringOf, type PixelModule } from './pixel-module';
import type { Orientation, Vec3 } from './types';

export const SopClass = {
  CtImage: '1.2.840.10008.5.1.4.1.1.2',
  EnhancedCtImage: '1.2.840.10008.5.1.4.1.1.2.1',
  LegacyConvertedEnhancedCtImage: '1.2.840.10008.5.1.4.1.1.2.2',
} as const;

const multiFrameCt = new Set<string>([
  SopClass.EnhancedCtImage,
  SopClass.LegacyConvertedEnhancedCtImage,
]);

/** One slice, before its pixels are read: where it lies and how to fetch and decode it. */
export interface SliceRecord {
  location: string;
  dataset: NaturalDataset;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  frameNumber?: number;
  acquisitionNumber?: number;
  position: Vec3;
  orientation: Orientation;
  pixelSpacing: [number, number];
  pixel: PixelModule;
  load(): Promise<EncodedFrame>;
  /** Optional faster path: fetch and decode straight into `out` (rows * columns HU). */
  loadInto?(out: Float32Array): Promise<void>;
}

function first(seq: unknown): NaturalDataset | undefined {
  return Array.isArray(seq) && seq.length > 0 ? (seq[0] as NaturalDataset) : undefined;
}

function required(ds: NaturalDataset, keyword: string, location: string): string {
  const v = stringOf(ds[keyword]);
  if (!v) throw new InconsistentGeometryError(`${location}: ${keyword} is missing`);
  return v;
}

function vector<N extends number>(
  value: unknown,
  length: N,
  keyword: string,
  location: string,
): number[] {
  const v = numbersOf(value);
  if (!v || v.length !== length) {
    throw new InconsistentGeometryError(`${location}: ${keyword} is missing or malformed`);
  }
  return v;
}

/** Pixel spacing a CT slice can have (mm): from micro-CT-like 0.05 mm to 10 mm. */
export const PIXEL_SPACING_MM: readonly [number, number] = [0.05, 10];

function pixelSpacing(value: unknown, location: string): [number, number] {
  const v = vector(value, 2, 'PixelSpacing', location) as [number, number];
  const [lo, hi] = PIXEL_SPACING_MM;
  if (!v.every((x) => x >= lo && x <= hi))
    throw new InconsistentGeometryError(
      `${location}: PixelSpacing ${v.join('\\')} mm is not a CT pixel spacing (${lo} to ${hi} mm)`,
    );
  return v;
}

/** The most slices one enhanced CT object may hold (a whole-body 0.5 mm scan has about 4000). */
export const MAX_FRAMES = 8192;

/** Checks what every CT slice must have before any pixel is read. */
export function assertCtImage(ds: NaturalDataset, location: string): void {
  const modality = stringOf(ds.Modality);
  if (modality !== 'CT') {
    throw new UnsupportedModalityError(`${location}: modality ${modality ?? '(none)'} is not CT`);
  }
}

/**
 * Slice records of one instance: one for a classic CT image, one per frame for enhanced CT.
 * `loadFrame` fetches the encoded frame by 0-based index.
 */
export function sliceRecordsOf(
  ds: NaturalDataset,
  location: string,
  loadFrame: (index: number) => Promise<EncodedFrame>,
): SliceRecord[] {
  assertCtImage(ds, location);
  const sopClassUid = stringOf(ds.SOPClassUID) ?? SopClass.CtImage;
  const common = {
    location,
    dataset: ds,
    // Blank study or series UIDs do not stop a read: the geometry decides whether slices belong
    // together; the series carries a warning, and writing derived objects refuses it.
    studyInstanceUid: stringOf(ds.StudyInstanceUID)?.trim() ?? '',
    seriesInstanceUid: stringOf(ds.SeriesInstanceUID)?.trim() ?? '',
    frameOfReferenceUid: stringOf(ds.FrameOfReferenceUID) ?? '',
    sopInstanceUid: required(ds, 'SOPInstanceUID', location),
    sopClassUid,
    acquisitionNumber: numberOf(ds.AcquisitionNumber),
  };
  if (!multiFrameCt.has(sopClassUid)) {
    return [
      {
        ...common,
        position: vector(ds.ImagePositionPatient, 3, 'ImagePositionPatient', location) as Vec3,
        orientation: vector(
          ds.ImageOrientationPatient,
          6,
          'ImageOrientationPatient',
          location,
        ) as Orientation,
        pixelSpacing: pixelSpacing(ds.PixelSpacing, location),
        pixel: readPixelModule(ds, location),
        load: () => loadFrame(0),
      },
    ];
  }
  const frames = numberOf(ds.NumberOfFrames) ?? 0;
  if (frames < 1) throw new MissingPixelDataError(`${location}: enhanced CT with no frames`);
  // Checked before one record per frame is made: a 44 KB object claiming 20 million frames
  // must not expand into 20 million records.
  if (frames > MAX_FRAMES)
    throw new InvalidInputError(
      `${location}: NumberOfFrames ${frames} exceeds the limit of ${MAX_FRAMES} slices per object`,
    );
  const shared = first(ds.SharedFunctionalGroupsSequence) ?? {};
  const perFrame = Array.isArray(ds.PerFrameFunctionalGroupsSequence)
    ? (ds.PerFrameFunctionalGroupsSequence as NaturalDataset[])
    : [];
  if (perFrame.length > 0 && perFrame.length !== frames)
    throw new InconsistentGeometryError(
      `${location}: NumberOfFrames is ${frames} but PerFrameFunctionalGroupsSequence has ${perFrame.length} items`,
    );
  // A functional group sits either in the per-frame item or in the shared one.
  const group = (i: number, name: string): NaturalDataset | undefined =>
    first(perFrame[i]?.[name]) ?? first(shared[name]);
  return Array.from({ length: frames }, (_, i) => {
    const where = `${location} frame ${i + 1}`;
    const transform = group(i, 'PixelValueTransformationSequence');
    return {
      ...common,
      frameNumber: i + 1,
      position: vector(
        group(i, 'PlanePositionSequence')?.ImagePositionPatient,
        3,
        'ImagePositionPatient',
        where,
      ) as Vec3,
      orientation: vector(
        group(i, 'PlaneOrientationSequence')?.ImageOrientationPatient,
        6,
        'ImageOrientationPatient',
        where,
      ) as Orientation,
      pixelSpacing: pixelSpacing(group(i, 'PixelMeasuresSequence')?.PixelSpacing, where),
      pixel: readPixelModule(ds, where, {
        slope: numberOf(transform?.RescaleSlope),
        intercept: numberOf(transform?.RescaleIntercept),
      }),
      load: () => loadFrame(i),
    };
  });
}
