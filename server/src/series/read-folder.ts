import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  MissingPixelDataError,
  MixedSeriesError,
  NotDicomError,
  NotFoundError,
  UnsupportedModalityError,
} from '../errors';
import { assembleSeries, type InMemoryOptions } from './assemble';
import { looksLikeDicom, parseDicomFile } from './dicom-file';
import { stringOf } from './pixel-module';
import { sliceRecordsOf, type SliceRecord } from './slice-record';
import type { InMemorySeries } from './types';

export interface FolderReadOptions extends InMemoryOptions {
  /** Which series to read when the folder holds several. */
  seriesInstanceUid?: string;
}

async function listFiles(root: string): Promise<{ files: string[]; single: boolean }> {
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat) throw new NotFoundError(`${root} does not exist`);
  if (stat.isFile()) return { files: [root], single: true };
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(root);
  return { files: out, single: false };
}

interface SeriesGroup {
  uid: string;
  modality: string;
  description: string;
  records: SliceRecord[];
  files: number;
}

/**
 * Reads one CT series from a folder (searched recursively) or a single file. Files without the
 * DICM marker (READMEs, DICOMDIR's neighbours) are skipped; a DICOM file that cannot be read is an
 * error, so no slice is ever silently dropped.
 */
export async function readDicomFolder(
  root: string,
  options: FolderReadOptions = {},
): Promise<InMemorySeries> {
  const { files, single } = await listFiles(root);
  const groups = new Map<string, SeriesGroup>();
  let dicomFiles = 0;
  for (const file of files) {
    const bytes = new Uint8Array(await fs.readFile(file));
    if (!looksLikeDicom(bytes)) {
      if (single) parseDicomFile(bytes, file); // throws the not-DICOM error
      continue;
    }
    if (path.basename(file).toUpperCase() === 'DICOMDIR') continue;
    dicomFiles++;
    const parsed = parseDicomFile(bytes, file);
    const ds = parsed.dataset;
    const uid = stringOf(ds.SeriesInstanceUID) ?? '(no SeriesInstanceUID)';
    const modality = stringOf(ds.Modality) ?? '(none)';
    let group = groups.get(uid);
    if (!group) {
      group = {
        uid,
        modality,
        description: stringOf(ds.SeriesDescription) ?? '',
        records: [],
        files: 0,
      };
      groups.set(uid, group);
    }
    group.files++;
    if (modality !== 'CT') continue;
    if (parsed.frames.length === 0) {
      throw new MissingPixelDataError(`${file}: CT instance without pixel data`);
    }
    const frames = parsed.frames;
    group.records.push(
      ...sliceRecordsOf(ds, file, async (i) => ({
        bytes: frames[i],
        transferSyntaxUid: parsed.transferSyntaxUid,
      })),
    );
  }
  if (dicomFiles === 0) {
    throw new NotDicomError(`${root}: no DICOM files found (${files.length} files looked at)`);
  }
  const describe = (g: SeriesGroup): string =>
    `${g.uid} (${g.modality}${g.description ? `, "${g.description}"` : ''}, ${g.files} files)`;
  let chosen: SeriesGroup | undefined;
  if (options.seriesInstanceUid) {
    chosen = groups.get(options.seriesInstanceUid);
    if (!chosen) {
      throw new NotFoundError(
        `${root}: series ${options.seriesInstanceUid} not found; it holds ${[...groups.values()].map(describe).join('; ')}`,
      );
    }
    if (chosen.modality !== 'CT') {
      throw new UnsupportedModalityError(
        `${root}: series ${chosen.uid} is ${chosen.modality}, not CT`,
      );
    }
  } else {
    const ct = [...groups.values()].filter((g) => g.modality === 'CT');
    if (ct.length === 0) {
      throw new UnsupportedModalityError(
        `${root}: no CT series; it holds ${[...groups.values()].map(describe).join('; ')}`,
      );
    }
    if (ct.length > 1) {
      throw new MixedSeriesError(
        `${root} holds ${ct.length} CT series, choose one: ${ct.map(describe).join('; ')}`,
      );
    }
    chosen = ct[0];
  }
  return assembleSeries(chosen.records, { kind: 'files', location: root }, options);
}
