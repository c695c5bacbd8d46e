import { existsSync, promises as fs } from 'node:fs';
import type { OutputSettings } from '../derived/output-settings';
import { DicomWebClient, type DicomJson, type PacsAuth } from '../dicomweb/client';
import type { ScratchSettings } from '../util/planes';
import type { PhaseModel } from '../model/inference/phase-model';
import type { RunAnalysis } from './jobs';
import { analysisRunner, phaseFromPacs } from './analysis';
import type { Logger } from './log';
import { screenSeries } from './screen';
import {
  analyseForWatcher,
  archiveAnswered,
  Outage,
  SeriesTries,
  sleep,
  writeJsonAtomically,
} from './watch-common';
import type { WatchEvent } from './watcher';

export interface QidoWatcherOptions {
  /** DICOMweb root of the archive (any vendor: only QIDO-RS, WADO-RS and STOW-RS are used). */
  pacsUrl: string;
  auth?: PacsAuth;
  /** Where the series already decided (and those waiting to settle) are kept between runs. */
  stateFile: string;
  /** Maps to compute and store besides the phase report (none by default: tagging only). */
  maps: string[];
  output?: OutputSettings;
  /** Runs the analyses (default: in this process); the CLI isolates them in their own process. */
  run?: RunAnalysis;
  /** Where analyses run in this process keep a series' HU and maps (default: the temporary folder). */
  scratch?: ScratchSettings;
  /** Studies dated within this many days before today are watched (default 2). */
  days?: number;
  pollMs?: number;
  /** Today, for tests. */
  now?: () => Date;
  signal?: AbortSignal;
  onSeries?: (event: WatchEvent) => void;
}

/** A series' last instance count and when it was seen: it is analysed once the count settles. */
interface Pending {
  /** The instance count last polled (-1 where the archive does not report one). */
  instances: number;
}

interface State {
  /** Decided series: UID -> StudyDate, so entries can be dropped once out of the window. */
  decided: Record<string, string>;
  pending: Record<string, Pending>;
}

const tag = (ds: DicomJson, t: string): string | undefined => {
  const v = ds[t]?.Value?.[0];
  return v === undefined ? undefined : String(v);
};

const ymd = (d: Date): string => d.toISOString().slice(0, 10).replace(/-/g, '');

async function readState(file: string): Promise<State> {
  if (!existsSync(file)) return { decided: {}, pending: {} };
  const s = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<State>;
  return { decided: s.decided ?? {}, pending: s.pending ?? {} };
}

/**
 * Tags new CT series in an archive that has no change feed: polls QIDO-RS for CT series of
 * studies dated in the last few days, waits until a series' instance count stops changing for
 * one poll (the archive's "stable" moment), then decides it as the Orthanc watcher does. A
 * series is recorded as decided only after its report is stored, and one with a report is
 * skipped: a restart loses no series and repeats none. Studies dated outside the window (old
 * studies imported late, or no StudyDate) are not seen: QIDO-RS cannot ask "what is new".
 */
export async function watchQido(
  options: QidoWatcherOptions,
  model: PhaseModel,
  log: Logger,
): Promise<void> {
  const pacs = new DicomWebClient({ url: options.pacsUrl, auth: options.auth });
  const run =
    options.run ??
    analysisRunner(model, options.pacsUrl, options.auth, {
      output: options.output,
      ...(options.scratch ? { scratch: options.scratch } : {}),
    });
  const modelId = { name: model.metadata.name, version: model.metadata.version };
  const pollMs = options.pollMs ?? 10000;
  const state = await readState(options.stateFile);
  const tries = new SeriesTries();
  log.info('QIDO-RS watcher started', { pacs: options.pacsUrl, days: options.days ?? 2 });
  const outage = new Outage(log, 'PACS', { pacs: options.pacsUrl });
  while (!options.signal?.aborted) {
    const today = options.now?.() ?? new Date();
    const from = ymd(new Date(today.getTime() - (options.days ?? 2) * 86400000));
    let found: DicomJson[];
    try {
      found = await pacs.searchForSeries({
        Modality: 'CT',
        StudyDate: `${from}-${ymd(today)}`,
        includefield: '00201209,00080020',
      });
      outage.ended();
    } catch (error) {
      await outage.failed(error, options.signal);
      continue;
    }
    // Forget decisions about studies that left the window, and series no longer listed (out of
    // the window, or deleted before they settled): the state stays small.
    let changed = false;
    for (const [uid, date] of Object.entries(state.decided))
      if (date < from) {
        delete state.decided[uid];
        changed = true;
      }
    const listed = new Set(found.map((series) => tag(series, '0020000E')));
    for (const uid of Object.keys(state.pending))
      if (!listed.has(uid)) {
        delete state.pending[uid];
        changed = true;
      }
    for (const series of found) {
      if (options.signal?.aborted) break;
      const uid = tag(series, '0020000E');
      const study = tag(series, '0020000D');
      if (!uid || !study || uid in state.decided) continue;
      const count = Number(tag(series, '00201209') ?? NaN);
      const pending = state.pending[uid];
      // Settled: the same count on two polls (a count the archive does not report settles too).
      if (!pending || (Number.isFinite(count) && pending.instances !== count)) {
        state.pending[uid] = { instances: Number.isFinite(count) ? count : -1 };
        changed = true;
        continue;
      }
      let event: WatchEvent;
      try {
        event = await decide(study, uid);
        tries.decided(uid);
      } catch (error) {
        // A series that keeps failing while the archive answers is poison: after
        // MAX_SERIES_TRIES it is recorded as decided (failed) and passed over. The archive is
        // asked again, as the Orthanc watcher does, with a query that does not name the series
        // (a series the archive cannot serve must not look like an archive that is down): one
        // that went away mid-series, which this poll's query could not know, is waited for.
        const message = (error as Error).message;
        const answers = await pacs
          .searchForSeries({ Modality: 'CT', limit: '1' })
          .then(() => true)
          .catch(archiveAnswered);
        const outcome = tries.failed(uid, error, answers);
        if (outcome === 'retry') {
          log.warn('series not decided; will retry', { seriesInstanceUid: uid, error: message });
          break;
        }
        event = {
          seriesInstanceUid: uid,
          action: 'skipped',
          reason: `failed ${outcome} times, passed over: ${message}`,
        };
      }
      delete state.pending[uid];
      state.decided[uid] = tag(series, '00080020') ?? ymd(today);
      await writeJsonAtomically(options.stateFile, state);
      options.onSeries?.(event);
      log.info(`series ${event.action}`, { ...event });
    }
    // Decided series were saved as they were decided; what else changed is saved once a poll.
    if (changed) await writeJsonAtomically(options.stateFile, state);
    await sleep(pollMs, options.signal);
  }

  async function decide(studyInstanceUid: string, uid: string): Promise<WatchEvent> {
    const skip = (reason: string): WatchEvent => ({
      seriesInstanceUid: uid,
      action: 'skipped',
      reason,
    });
    const instances = await pacs.retrieveSeriesMetadata(studyInstanceUid, uid);
    const first = instances[0] ?? {};
    const values = (t: string) => first[t]?.Value?.map(String);
    const reason = screenSeries({
      modality: tag(first, '00080060'),
      instances: instances.length,
      imageType: values('00080008')?.join('\\'),
      manufacturer: tag(first, '00080070'),
      orientation: values('00200037')?.map(Number),
    });
    if (reason) return skip(reason);
    const existing = await phaseFromPacs(pacs, uid, modelId).catch(() => undefined);
    if (existing) return skip(`already tagged ${existing.phase}`);
    const outcome = await analyseForWatcher(
      run,
      `qido-${uid}`,
      studyInstanceUid,
      uid,
      options.maps,
    );
    if ('failed' in outcome) return skip(outcome.failed);
    return { seriesInstanceUid: uid, action: 'analysed', phase: outcome.phase };
  }
}
