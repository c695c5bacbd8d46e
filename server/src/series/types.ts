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

export interface CtSeries {
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
  hu: HuArray;
  geometry: SeriesGeometry;
  /** Per slice, for references from derived objects. */
  instances: SourceInstance[];
  /** Patient, study, equipment and series modules, to copy into derived objects. */
  header: DicomHeader;
  source: { kind: 'files' | 'nifti' | 'dicomweb'; location: string };
  /** What was read although not quite valid (a blank Study or Series Instance UID, ...). */
  warnings?: string[];
}

/** Index of voxel (slice, row, column) in CtSeries.hu. */
export function voxelIndex(series: CtSeries, slice: number, row: number, column: number): number {
  return (slice * series.rows + row) * series.columns + column;
}

/** HU values as a series holds them. */
export type HuArray = Float32Array | Int16Array;

/** One slice of a series as a view (no copy). */
export function sliceView(series: CtSeries, slice: number): HuArray {
  const size = series.rows * series.columns;
  return series.hu.subarray(slice * size, (slice + 1) * size);
}
