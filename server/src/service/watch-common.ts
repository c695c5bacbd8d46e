import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PacsError } from '../errors';
import type { RunAnalysis } from './jobs';

/** Written to a temporary file and renamed: a crash never leaves a half-written file. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(`${file}.tmp`, JSON.stringify(value));
  await fs.rename(`${file}.tmp`, file);
}

/** Waits `ms`, or less when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * A watcher's analysis of one new series (the phase report, and maps when asked), as a job of
 * its own. Resolves with the phase, or with the reason the series could not be analysed; a PACS
 * fault is thrown instead, as it is transient and the watcher retries the series.
 */
export async function analyseForWatcher(
  run: RunAnalysis,
  id: string,
  studyInstanceUid: string,
  seriesInstanceUid: string,
  maps: string[],
): Promise<{ phase: string } | { failed: string }> {
  const job = {
    id,
    request: { studyInstanceUid, seriesInstanceUid, maps, writeBack: true },
  } as Parameters<RunAnalysis>[0];
  try {
    return { phase: (await run(job, () => undefined)).phase };
  } catch (error) {
    if (error instanceof PacsError) throw error;
    return { failed: `analysis failed: ${(error as Error).message}` };
  }
}
