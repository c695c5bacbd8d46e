import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../errors';
import { readDicomFolder, type FolderReadOptions } from './read-folder';
import { parseSeriesUrl, readDicomWebSeries, type DicomWebReadOptions } from './read-dicomweb';
import { readNifti } from './read-nifti';
import type { InMemoryOptions } from './assemble';
import type { InMemorySeries } from './types';

export type ReadSeriesOptions = FolderReadOptions & DicomWebReadOptions & InMemoryOptions;

/**
 * Reads a CT series from a folder of DICOM files (or one file), a NIfTI file (.nii, .nii.gz) or a
 * folder holding only one, or a DICOMweb series URL.
 */
export async function readSeries(
  source: string,
  options: ReadSeriesOptions = {},
): Promise<InMemorySeries> {
  if (/^https?:\/\//.test(source)) return readDicomWebSeries(parseSeriesUrl(source), options);
  if (/\.nii(\.gz)?$/i.test(source)) return readNifti(source);
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat) throw new NotFoundError(`${source} does not exist`);
  if (stat.isDirectory()) {
    // A folder holding one NIfTI file and nothing else is that volume.
    const entries = (await fs.readdir(source)).filter((f) => !f.startsWith('.'));
    if (entries.length === 1 && /\.nii(\.gz)?$/i.test(entries[0]))
      return readNifti(path.join(source, entries[0]));
  }
  return readDicomFolder(source, options);
}
