import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AnalysisCrashedError, OutOfScopeError, PacsError, ScratchSpaceError } from '../errors';
import type { RunAnalysis } from './jobs';
import type { Logger } from './log';

/** Written to a temporary file and renamed: a crash never leaves a half-written file. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(`${file}.tmp`, JSON.stringify(value));
  await fs.rename(`${file}.tmp`, file);
}

/**
 * Waits `ms`, or less when `signal` aborts. The abort listener goes with the wait: a watcher
 * sleeps once a poll for as long as it runs, and listeners left behind would pile up.
 */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * A watcher's analysis of one new series (the phase report, and maps when asked), as a job of
 * its own. Resolves with the phase (`indeterminate` or `out-of-scope` included), or with the reason the series could not be analysed; a PACS
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
    // The PACS went away, or the analysis process died (out of memory, a crash): not the
    // series' verdict. Thrown, so the watcher retries it and passes it over only after
    // MAX_SERIES_TRIES.
    if (
      error instanceof PacsError ||
      error instanceof AnalysisCrashedError ||
      error instanceof ScratchSpaceError
    )
      throw error;
    // Checked and not abdominal CT: tagged as such, so nobody waits for a phase.
    if (error instanceof OutOfScopeError) return { phase: 'out-of-scope' };
    return { failed: `analysis failed: ${(error as Error).message}` };
  }
}

/**
 * Whether a PACS whose request failed with `error` still answered, for counting a series'
 * failure: an HTTP status below 500 is an answer, except where the PACS is busy or slow (408,
 * 429) or refuses this installation's credentials (401, 403: a configuration fault, not the
 * series'); no answer, a timeout or a 5xx is not.
 */
export function archiveAnswered(error: unknown): boolean {
  if (!(error instanceof PacsError) || error.status === undefined) return false;
  return error.status < 500 && ![401, 403, 408, 429].includes(error.status);
}

/** Tries of one series, while the PACS itself answers, before it is passed over as failed. */
export const MAX_SERIES_TRIES = 5;

/**
 * A fault of the installation, not of the series (the scratch folder failing or held by other
 * analyses): retried like an absent PACS, never counted against the series.
 */
export function installationFault(error: unknown): boolean {
  return error instanceof ScratchSpaceError;
}

/**
 * The watchers' rule for a series that fails: a series that keeps failing while the PACS
 * answers is poison, and after MAX_SERIES_TRIES it is passed over so the feed moves on; a PACS
 * that the caller found not answering, or a fault of the installation, is retried without
 * counting.
 */
export class SeriesTries {
  private readonly failures = new Map<string, number>();

  /**
   * Records a failure of `key`: 'retry', or the number of tries once it is to be passed over.
   * `pacsAnswers`: whether the PACS answered after the failure (false: it went away mid-series,
   * not the series' fault). Both watchers know it by asking the PACS again after the failure.
   */
  failed(key: string, error: unknown, pacsAnswers: boolean): 'retry' | number {
    if (!pacsAnswers || installationFault(error)) return 'retry';
    const tries = (this.failures.get(key) ?? 0) + 1;
    if (tries < MAX_SERIES_TRIES) {
      this.failures.set(key, tries);
      return 'retry';
    }
    this.failures.delete(key);
    return tries;
  }

  /** The series was decided: its count starts again should it ever fail. */
  decided(key: string): void {
    this.failures.delete(key);
  }
}

/**
 * A watcher's view of its PACS going away and coming back: one warning when it goes (then every
 * 30th failure), one line when it is back, and a growing pause (up to 10 s) between tries.
 */
export class Outage {
  private failures = 0;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly fields: Record<string, unknown>,
  ) {}

  /** The PACS answered. */
  ended(): void {
    if (this.failures) this.log.info(`${this.what} reachable again`, this.fields);
    this.failures = 0;
  }

  /** The PACS did not answer: log as needed, then wait before the next try. */
  async failed(error: unknown, signal?: AbortSignal): Promise<void> {
    this.failures++;
    if (this.failures === 1 || this.failures % 30 === 0)
      this.log.warn(`${this.what} unreachable; retrying`, { error: (error as Error).message });
    await sleep(Math.min(10000, 500 * this.failures), signal);
  }
}
