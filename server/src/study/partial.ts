import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors';
import { removeWithPartials, writeFileDurably } from '../util/atomic-file';
import { membersOf, type PhaseModel } from '../model/inference/phase-model';
import type { SeriesRecord } from './run-study';

/**
 * The series a study has measured so far, kept beside its report: a 49-series study runs for an
 * hour or more, and a machine or session that stops mid-run should cost one series, not the run.
 */
const FILE = 'partial-results.json';

interface PartialStudy {
  /** What the run is (model, series, slices, protocol); only the same run resumes. */
  run: string;
  records: SeriesRecord[];
}

/** A model as a study run names it: name, version and a digest of every member's metadata. */
export function modelKey(model: PhaseModel): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([model.metadata, ...membersOf(model).map((m) => m.metadata)]))
    .digest('hex');
  return `${model.metadata.name} ${model.metadata.version} ${digest.slice(0, 16)}`;
}

/** What makes two study runs the same run, for resuming. */
export function studyRun(run: {
  /** The model's name and version, and a digest of its metadata (members, training, code). */
  model: string;
  series: string[];
  slices: number;
  protocol: number;
}): string {
  return JSON.stringify(run);
}

/** Records of an earlier, unfinished attempt at the same run (none when there is none). */
export async function loadPartialStudy(dir: string, run: string): Promise<SeriesRecord[]> {
  const file = path.join(dir, FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let saved: PartialStudy;
  try {
    saved = JSON.parse(text) as PartialStudy;
  } catch {
    throw new InvalidInputError(`${file} is not a readable partial study; remove it to start over`);
  }
  if (saved.run !== run || !Array.isArray(saved.records))
    throw new InvalidInputError(
      `${file} holds a partial study of another run (other model, series or settings); remove it or study into another folder`,
    );
  return saved.records;
}

/** Saves the records so far, renamed into place so a stop while writing keeps the last whole one. */
export async function savePartialStudy(
  dir: string,
  run: string,
  records: SeriesRecord[],
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, FILE);
  await writeFileDurably(file, JSON.stringify({ run, records } satisfies PartialStudy));
}

/** Removes the partial results, with any left half-written by an attempt stopped while saving. */
export async function removePartialStudy(dir: string): Promise<void> {
  await removeWithPartials(dir, FILE);
}
