import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import type { DicomWebClient } from '../dicomweb/client';
import type { CtSeries } from '../series/types';
import type { DerivedSeries } from './derived-series';
import type { EncodedObject } from './encoded';
import { MapParametricMap } from './parametric-map';
import type { OutputSettings } from './output-settings';
import { PhaseReport } from './phase-report';
import { MapSecondaryCapture } from './secondary-capture';
import type { AttributionMap } from '../domain/attribution-map';
import type { PhaseResult } from '../domain/phase-result';

/**
 * Every kind of series an analysis writes back, by the name the API and the lists use. A new
 * kind of output object is a class implementing DerivedSeries, a line here and its place in
 * deriveObjects.
 */
export interface DerivedKinds {
  'secondary-capture': MapSecondaryCapture;
  'parametric-map': MapParametricMap;
  'phase-report': PhaseReport;
}
export type DerivedKind = keyof DerivedKinds;

/** Everything an analysis writes back: map series first, the phase report (the "done" mark) last. */
export class DerivedObjects {
  constructor(readonly series: readonly DerivedSeries[]) {}

  /** The series of one kind, in write order. */
  ofKind<K extends DerivedKind>(kind: K): DerivedKinds[K][] {
    return this.series.filter((s) => s.kind === kind) as DerivedKinds[K][];
  }

  /** The phase report's dataset. */
  get phaseReport(): NaturalDataset {
    return this.ofKind('phase-report')[0].dataset;
  }

  /** How many objects `inWriteOrder` yields. */
  get count(): number {
    return this.series.reduce((n, s) => n + s.count, 0);
  }
}

export function deriveObjects(
  series: CtSeries,
  result: PhaseResult,
  maps: AttributionMap[],
  options: OutputSettings & { created?: Date } = {},
): DerivedObjects {
  const created = options.created ?? new Date();
  const parametricMaps = maps.map(
    (m) => new MapParametricMap(series, m, result, { ...options, created }),
  );
  return new DerivedObjects([
    ...maps.map((m) => new MapSecondaryCapture(series, m, result, created)),
    ...parametricMaps,
    // The report lists the maps written with it, so a reader finds them from the phase.
    new PhaseReport(series, result, { created, parametricMaps }),
  ]);
}

/** The objects of the series matching `which`, made one at a time as they are asked for. */
function* objectsOf(
  objects: DerivedObjects,
  which: (s: DerivedSeries) => boolean,
): Generator<EncodedObject> {
  for (const s of objects.series) if (which(s)) yield* s.objects();
}

const completing = (s: DerivedSeries): boolean => s.completes === true;

/** In write order: the completing series (the phase report) last, so a failure part-way never leaves it behind. */
export function* inWriteOrder(objects: DerivedObjects): Generator<EncodedObject> {
  yield* objectsOf(objects, (s) => !completing(s));
  yield* objectsOf(objects, completing);
}

/** Writes one object's bytes to a file as they are made; a short file is an error, never kept. */
async function writeObject(object: EncodedObject, file: string): Promise<void> {
  const handle = await fs.open(file, 'w');
  let total = 0;
  try {
    for (const chunk of object.chunks()) {
      for (let at = 0; at < chunk.byteLength;) {
        const { bytesWritten } = await handle.write(chunk, at, chunk.byteLength - at);
        at += bytesWritten;
      }
      total += chunk.byteLength;
    }
  } finally {
    await handle.close();
  }
  if (total !== object.byteLength)
    throw new Error(`${file}: ${total} bytes written where ${object.byteLength} were announced`);
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
    for (const object of inWriteOrder(objects)) {
      const folder = path.join(staging, object.folder);
      await fs.mkdir(folder, { recursive: true });
      const name = `${object.sopInstanceUid}.dcm`;
      await writeObject(object, path.join(folder, name));
      files.push(path.join(dir, object.folder, name));
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
  const total = objects.count;
  const body = objectsOf(objects, (s) => !completing(s));
  let done = 0;
  // Batches go out while the next ones are made and encoded (the PACS stores on its own cores),
  // at most `inFlight` at a time; the first failure stops the rest, and the report is never sent.
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  while (failure === undefined) {
    const chunk: EncodedObject[] = [];
    for (let next = body.next(); !next.done; next = body.next()) {
      chunk.push(next.value);
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
  await client.storeInstances([...objectsOf(objects, completing)]);
  onProgress?.(total, total);
  return total;
}

export { folderFor } from './encoded';
