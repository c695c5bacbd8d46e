import { planeOf, type ScratchPlanes } from '../util/planes';

export type Vec3 = [number, number, number];
export type Orientation = [number, number, number, number, number, number];

export interface SeriesGeometry {
  /** ImagePositionPatient of each slice, in slice order (mm). */
  positions: Vec3[];
  /** ImageOrientationPatient: row direction cosines then column direction cosines. */
  orientation: Orientation;
  /** Row spacing then column spacing (mm), as DICOM PixelSpacing. */
  pixelSpacing: [number, number];
  /** Distance between consecutive slices along the normal (mm). */
  sliceSpacing: number;
}

export interface SourceInstance {
  sopInstanceUid: string;
  sopClassUid: string;
  /** 1-based frame number for multi-frame sources; absent for single-frame instances. */
  frameNumber?: number;
}

/** A naturalised dataset (dcmjs keyword -> value), restricted to the modules we copy. */
export type DicomHeader = Record<string, unknown>;

/**
 * A CT series: HU held whole in memory (`InMemorySeries`, what the readers and the phantom give)
 * or, for an analysis of a long series, slice by slice in scratch planes (memory stays flat).
 * Code that works a slice at a time takes a CtSeries and reads slices with `sliceView`.
 */
export interface CtSeries<V extends HuVolume = HuVolume> {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  rows: number;
  columns: number;
  slices: number;
  /**
   * slices * rows * columns, slice-major, sorted along the slice normal (ascending). 16-bit
   * integers where every slice's HU are whole numbers that fit (most DICOM CT: half the memory of
   * float32), else float32 (fractional rescale, NIfTI floats, phantoms).
   */
  hu: V;
  geometry: SeriesGeometry;
  /** Per slice, for references from derived objects. */
  instances: SourceInstance[];
  /** Patient, study, equipment and series modules, to copy into derived objects. */
  header: DicomHeader;
  source: { kind: 'files' | 'nifti' | 'dicomweb'; location: string };
  /** What was read although not quite valid (a blank Study or Series Instance UID, ...). */
  warnings?: string[];
}

/** A series whose HU volume is one array in memory. */
export type InMemorySeries = CtSeries<HuArray>;

/** Index of voxel (slice, row, column) in InMemorySeries.hu. */
export function voxelIndex(series: CtSeries, slice: number, row: number, column: number): number {
  return (slice * series.rows + row) * series.columns + column;
}

/** HU values as a series holds them. */
export type HuArray = Float32Array | Int16Array;

/** A series' HU: one array, or slices in a scratch file. */
export type HuVolume = HuArray | ScratchPlanes<Int16Array> | ScratchPlanes<Float32Array>;

/** One slice of a series: a view (no copy) of an in-memory volume, else read now. */
export function sliceView(series: CtSeries, slice: number): HuArray {
  return planeOf<HuArray>(series.hu, series.rows * series.columns, slice);
}
