import { InvalidInputError, MissingPixelDataError } from '../errors';
import type { NaturalDataset } from 'dcmjs';

/** The Image Pixel and CT Image attributes needed to turn stored values into HU. */
/** The largest slice matrix read (rows and columns). */
export const MAX_MATRIX = 2048;
/** Plausible CT rescale: stored values to HU. */
export const MAX_RESCALE_SLOPE = 16;
export const MAX_RESCALE_INTERCEPT = 32768;

export interface PixelModule {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  samplesPerPixel: number;
  photometricInterpretation: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Stored value (or range start) marking pixels outside the reconstructed field. */
  pixelPaddingValue?: number;
  pixelPaddingRangeLimit?: number;
}

export function numberOf(value: unknown): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function numbersOf(value: unknown): number[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const list = Array.isArray(value) ? value : String(value).split('\\');
  const out = list.map((v) => Number(v));
  return out.every((n) => Number.isFinite(n)) ? out : undefined;
}

export function stringOf(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && 'Alphabetic' in (v as object)) {
    return String((v as { Alphabetic: unknown }).Alphabetic);
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

/**
 * Reads the pixel module of a dataset; rescale attributes may come from a functional group
 * (enhanced CT), so they can be passed in.
 */
export function readPixelModule(
  ds: NaturalDataset,
  location: string,
  rescale?: { slope?: number; intercept?: number },
): PixelModule {
  const rows = numberOf(ds.Rows);
  const columns = numberOf(ds.Columns);
  const bitsAllocated = numberOf(ds.BitsAllocated);
  if (!rows || !columns || !bitsAllocated) {
    throw new MissingPixelDataError(
      `${location}: no image (Rows, Columns or BitsAllocated missing)`,
    );
  }
  // CT is 512 or 1024 square; a larger matrix is either not CT or built to exhaust memory.
  if (rows > MAX_MATRIX || columns > MAX_MATRIX)
    throw new InvalidInputError(
      `${location}: ${columns} x ${rows} pixels exceeds the ${MAX_MATRIX} x ${MAX_MATRIX} limit for a CT slice`,
    );
  const bitsStored = numberOf(ds.BitsStored) ?? bitsAllocated;
  const samplesPerPixel = numberOf(ds.SamplesPerPixel) ?? 1;
  const photometricInterpretation = stringOf(ds.PhotometricInterpretation) ?? 'MONOCHROME2';
  if (samplesPerPixel !== 1 || !photometricInterpretation.startsWith('MONOCHROME')) {
    throw new InvalidInputError(
      `${location}: ${photometricInterpretation} with ${samplesPerPixel} samples per pixel is not a CT image`,
    );
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new InvalidInputError(
      `${location}: BitsAllocated ${bitsAllocated} is not supported (8 or 16)`,
    );
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new InvalidInputError(
      `${location}: BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`,
    );
  }
  const rawSlope = rescale?.slope ?? numberOf(ds.RescaleSlope) ?? 1;
  const slope = rawSlope === 0 ? 1 : rawSlope;
  const intercept = rescale?.intercept ?? numberOf(ds.RescaleIntercept) ?? 0;
  // Plausible CT rescales only: values outside these give a "phase" for numbers that are not HU.
  if (!(slope > 0 && slope <= MAX_RESCALE_SLOPE) || !(Math.abs(intercept) <= MAX_RESCALE_INTERCEPT))
    throw new InvalidInputError(
      `${location}: RescaleSlope ${slope} and RescaleIntercept ${intercept} do not give Hounsfield units (slope above 0 and at most ${MAX_RESCALE_SLOPE}, intercept within ±${MAX_RESCALE_INTERCEPT})`,
    );
  return {
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    pixelRepresentation: numberOf(ds.PixelRepresentation) === 1 ? 1 : 0,
    samplesPerPixel,
    photometricInterpretation,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    pixelPaddingValue: numberOf(ds.PixelPaddingValue),
    pixelPaddingRangeLimit: numberOf(ds.PixelPaddingRangeLimit),
  };
}
