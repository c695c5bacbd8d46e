import { promises as fs } from 'node:fs';
import { NotFoundError } from '../errors';
import { readDicomFolder, type FolderReadOptions } from './read-folder';
import { parseSeriesUrl, readDicomWebSeries, type DicomWebReadOptions } from './read-dicomweb';
import { readNifti } from './read-nifti';
import type { CtSeries } from './types';

export type ReadSeriesOptions = FolderReadOptions & DicomWebReadOptions;

/**
 * Reads a CT series from a folder of DICOM files (or one file), a NIfTI file (.nii, .nii.gz) or a
 * DICOMweb series URL.
 */
export async function readSeries(
  source: string,
  options: ReadSeriesOptions = {},
): Promise<CtSeries> {
  if (/^https?:\/\//.test(source)) return readDicomWebSeries(parseSeriesUrl(source), options);
  if (/\.nii(\.gz)?$/i.test(source)) return readNifti(source);
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat) throw new NotFoundError(`${source} does not exist`);
  return readDicomFolder(source, options);
}
