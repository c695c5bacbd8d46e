import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import type { AttributionMap } from '../attribution/explain-series';
import type { DicomWebClient } from '../dicomweb/client';
import type { PhaseResult } from '../model/classify';
import { TransferSyntax } from '../series/transfer-syntax';
import type { CtSeries } from '../series/types';
import { encodePart10 } from '../series/write-ct';
import { MapParametricMap, type PixelFormat } from './parametric-map';
import { PhaseReport } from './phase-report';
import { MapSecondaryCapture } from './secondary-capture';

/** Everything an analysis writes back: map series first, the phase report (the "done" mark) last. */
export interface DerivedObjects {
  /** Per map; their images are made as they are written (see MapSecondaryCapture). */
  secondaryCaptures: MapSecondaryCapture[];
  /** Per map; each assembled when first written (see MapParametricMap). */
  parametricMaps: MapParametricMap[];
  phaseReport: NaturalDataset;
}

export function deriveObjects(
  series: CtSeries,
  result: PhaseResult,
  maps: AttributionMap[],
  options: { format?: PixelFormat; created?: Date } = {},
): DerivedObjects {
  const created = options.created ?? new Date();
  const parametricMaps = maps.map(
    (m) => new MapParametricMap(series, m, result, { format: options.format, created }),
  );
  return {
    secondaryCaptures: maps.map((m) => new MapSecondaryCapture(series, m, result, created)),
    parametricMaps,
    // The report lists the maps written with it, so a reader finds them from the phase.
    phaseReport: new PhaseReport(series, result, { created, parametricMaps }).dataset,
  };
}

/** The map objects, made one at a time as they are asked for: Secondary Captures, then Parametric Maps. */
function* mapObjects(objects: DerivedObjects): Generator<NaturalDataset> {
  for (const sc of objects.secondaryCaptures)
    for (let s = 0; s < sc.count; s++) yield sc.dataset(s);
  for (const pm of objects.parametricMaps) yield pm.dataset;
}

/** In write order: the phase report last, so a failure part-way never leaves it behind. */
export function* inWriteOrder(objects: DerivedObjects): Generator<NaturalDataset> {
  yield* mapObjects(objects);
  yield objects.phaseReport;
}

/** How many objects `inWriteOrder` yields. */
export function objectCount(objects: DerivedObjects): number {
  const images = objects.secondaryCaptures.reduce((n, sc) => n + sc.count, 0);
  return images + objects.parametricMaps.length + 1;
}

const encode = (ds: NaturalDataset): ArrayBuffer =>
  encodePart10(ds, TransferSyntax.ExplicitVRLittleEndian);

const KINDS: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.88.33': 'phase-report',
  '1.2.840.10008.5.1.4.1.1.7': 'secondary-capture',
  '1.2.840.10008.5.1.4.1.1.30': 'parametric-map',
};

/**
 * A derived series' folder, named for what it holds: `phase-report`, or the kind, map and
 * target (`secondary-capture-sam-input-for-portal-venous`).
 */
export function folderFor(ds: NaturalDataset): string {
  const kind = KINDS[String(ds.SOPClassUID)] ?? 'derived';
  if (kind === 'phase-report') return kind;
  const what = String(ds.SeriesDescription ?? '')
    .replace(/^PhaseLens /, '')
    .replace(/ (parametric )?map for /, ' for ')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${kind}-${what}`;
}

/**
 * Writes the objects as Part 10 files under `dir`, one folder per derived series. Written into a
 * temporary sibling folder and renamed into place at the end: `dir` holds a complete result or
 * nothing new (a previous complete result is replaced only once the new one is whole).
 */
export async function writeDerivedFolder(objects: DerivedObjects, dir: string): Promise<string[]> {
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  const staging = await fs.mkdtemp(path.join(parent, `.${path.basename(dir)}.partial-`));
  const files: string[] = [];
  try {
    for (const ds of inWriteOrder(objects)) {
      const folder = path.join(staging, folderFor(ds));
      await fs.mkdir(folder, { recursive: true });
      const name = `${String(ds.SOPInstanceUID)}.dcm`;
      await fs.writeFile(path.join(folder, name), new Uint8Array(encode(ds)));
      files.push(path.join(dir, path.basename(folder), name));
    }
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(staging, dir);
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  }
  return files;
}

/**
 * Stores the objects by STOW-RS in batches, the phase report last: if any batch fails the error
 * names the PACS and the report is never stored, so nothing in the PACS claims a complete result.
 * Deterministic UIDs make a repeated analysis replace its objects (Orthanc: OverwriteInstances).
 */
export async function storeDerived(
  objects: DerivedObjects,
  client: DicomWebClient,
  onProgress?: (done: number, total: number) => void,
  batch = 16,
  inFlight = 2,
): Promise<number> {
  const total = objectCount(objects);
  const body = mapObjects(objects);
  let done = 0;
  // Batches go out while the next ones are made and encoded (the PACS stores on its own cores),
  // at most `inFlight` at a time; the first failure stops the rest, and the report is never sent.
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  while (failure === undefined) {
    const chunk: ArrayBuffer[] = [];
    for (let next = body.next(); !next.done; next = body.next()) {
      chunk.push(encode(next.value));
      if (chunk.length === batch) break;
      // Let the batches in flight keep writing to their sockets while this one is made.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (chunk.length === 0) break;
    const sent: Promise<void> = client.storeInstances(chunk).then(
      () => {
        done += chunk.length;
        onProgress?.(done, total);
        pending.delete(sent);
      },
      (error: unknown) => {
        failure ??= error;
        pending.delete(sent);
      },
    );
    pending.add(sent);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  await client.storeInstances([encode(objects.phaseReport)]);
  onProgress?.(total, total);
  return total;
}
