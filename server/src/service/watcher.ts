import { existsSync, promises as fs } from 'node:fs';
import type { OutputSettings } from '../derived/output-settings';
import { DicomWebClient, type PacsAuth } from '../dicomweb/client';
import { OrthancRest } from './orthanc-rest';
import { isUid } from '../domain/uid';
import type { ScratchSettings } from '../util/planes';
import type { PhaseModel } from '../model/inference/phase-model';
import type { RunAnalysis } from './jobs';
import { analysisRunner, phaseFromPacs } from './analysis';
import type { Logger } from './log';
import { screenSeries } from './screen';
import { analyseForWatcher, Outage, SeriesTries, sleep, writeJsonAtomically } from './watch-common';

export interface WatcherOptions {
  /** Orthanc REST root (the /changes feed, series details, user metadata). */
  orthancUrl: string;
  /** DICOMweb root of the same Orthanc (reading series, storing results). */
  pacsUrl: string;
  auth?: PacsAuth;
  /** Where the feed position is kept between runs. */
  cursorFile: string;
  /** Maps to compute and store besides the phase report (none by default: tagging only). */
  maps: string[];
  /** Parametric Map pixels when maps are written (see the service's PHASELENS_MAP_FORMAT). */
  output?: OutputSettings;
  /** Runs the analyses (default: in this process); the CLI isolates them in their own process. */
  run?: RunAnalysis;
  /** Where analyses run in this process keep a series' HU and maps (default: the temporary folder). */
  scratch?: ScratchSettings;
  pollMs?: number;
  /** Orthanc user metadata key set to the phase on each analysed series. */
  metadataKey?: string;
  signal?: AbortSignal;
  /** Called after each series is decided (tagged or skipped), with the reason. */
  onSeries?: (event: WatchEvent) => void;
}

export interface WatchEvent {
  /** Orthanc's id of the series (Orthanc feed only). */
  orthancId?: string;
  seriesInstanceUid?: string;
  action: 'analysed' | 'skipped';
  reason?: string;
  phase?: string;
}

interface OrthancChange {
  ChangeType: string;
  ID: string;
  ResourceType: string;
  Seq: number;
}

async function readCursor(file: string): Promise<number> {
  if (!existsSync(file)) return 0;
  const value = Number(JSON.parse(await fs.readFile(file, 'utf8')).last);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/** Written atomically: a crash never leaves a half-written cursor. */
async function writeCursor(file: string, last: number): Promise<void> {
  await writeJsonAtomically(file, { last });
}

/**
 * Follows Orthanc's /changes feed and tags every new axial CT series with its phase (a phase
 * report in the PACS and the series' user metadata). The cursor advances only after a series is
 * decided, and a series whose report already exists is skipped: a restart after a crash loses
 * no series and analyses none twice. Orthanc going away is retried until it is back.
 */
export async function watchOrthanc(
  options: WatcherOptions,
  model: PhaseModel,
  log: Logger,
): Promise<void> {
  const rest = new OrthancRest(options.orthancUrl.replace(/\/+$/, ''), options.auth);
  const pacs = new DicomWebClient({ url: options.pacsUrl, auth: options.auth });
  const run =
    options.run ??
    analysisRunner(model, options.pacsUrl, options.auth, {
      output: options.output,
      ...(options.scratch ? { scratch: options.scratch } : {}),
    });
  const modelId = { name: model.metadata.name, version: model.metadata.version };
  const key = options.metadataKey ?? 'PhaseLensPhase';
  let cursor = await readCursor(options.cursorFile);
  const tries = new SeriesTries();
  log.info('watcher started', { orthanc: options.orthancUrl, cursor });
  const outage = new Outage(log, 'Orthanc', { orthanc: options.orthancUrl });
  while (!options.signal?.aborted) {
    let page: { Changes: OrthancChange[]; Done: boolean; Last: number };
    try {
      page = await rest.call('GET', `/changes?since=${cursor}&limit=100`);
      outage.ended();
    } catch (error) {
      await outage.failed(error, options.signal);
      continue;
    }
    let interrupted = false;
    for (const change of page.Changes) {
      if (options.signal?.aborted) return;
      if (change.ChangeType === 'StableSeries' && change.ResourceType === 'Series') {
        let event: WatchEvent;
        try {
          event = await decide(change.ID);
          tries.decided(change.ID);
        } catch (error) {
          const message = (error as Error).message;
          // Orthanc went away mid-series: keep the cursor before it and try again later. While
          // Orthanc answers, a series that keeps failing is poison: after MAX_SERIES_TRIES it is
          // tagged 'failed' and passed over, so the feed moves on.
          const reachable = await rest.call('GET', '/system').then(
            () => true,
            () => false,
          );
          const outcome = tries.failed(change.ID, error, reachable);
          if (outcome === 'retry') {
            log.warn('series not decided; will retry', { orthancId: change.ID, error: message });
            interrupted = true;
            break;
          }
          await rest
            .call('PUT', `/series/${change.ID}/metadata/${key}`, 'failed')
            .catch(() => undefined);
          event = {
            orthancId: change.ID,
            action: 'skipped',
            reason: `failed ${outcome} times, passed over: ${message}`,
          };
        }
        options.onSeries?.(event);
        log.info(`series ${event.action}`, { ...event });
      }
      cursor = change.Seq;
      await writeCursor(options.cursorFile, cursor);
    }
    if (interrupted) {
      await sleep(options.pollMs ?? 2000, options.signal);
      continue;
    }
    if (page.Changes.length === 0 && page.Last > cursor) {
      cursor = page.Last;
      await writeCursor(options.cursorFile, cursor);
    }
    if (page.Done) await sleep(options.pollMs ?? 2000, options.signal);
  }

  async function decide(orthancId: string): Promise<WatchEvent> {
    const series = await rest.call<{
      MainDicomTags: Record<string, string>;
      ParentStudy: string;
      Instances: string[];
    }>('GET', `/series/${orthancId}`);
    const uid = series.MainDicomTags.SeriesInstanceUID;
    const skip = (reason: string): WatchEvent => ({
      orthancId,
      seriesInstanceUid: uid,
      action: 'skipped',
      reason,
    });
    // UIDs go into DICOMweb URLs: one that is not a UID ("1.2.3/../../tools") is passed over.
    if (!isUid(uid)) return skip(`SeriesInstanceUID ${JSON.stringify(uid)} is not a DICOM UID`);
    if (series.MainDicomTags.Modality !== 'CT')
      return skip(`modality ${series.MainDicomTags.Modality}`);
    const tags =
      series.Instances.length >= 3
        ? await rest.call<Record<string, string>>(
            'GET',
            `/instances/${series.Instances[0]}/simplified-tags`,
          )
        : {};
    const reason = screenSeries({
      modality: series.MainDicomTags.Modality,
      instances: series.Instances.length,
      imageType: tags.ImageType,
      manufacturer: tags.Manufacturer,
      orientation: tags.ImageOrientationPatient?.split('\\').map(Number),
    });
    if (reason) return skip(reason);
    const existing = await phaseFromPacs(pacs, uid, modelId).catch(() => undefined);
    if (existing) {
      // The tag is set again from the report: a crash between storing the report and setting
      // the tag is repaired on the next pass.
      await rest.call('PUT', `/series/${orthancId}/metadata/${key}`, existing.phase);
      return skip(`already tagged ${existing.phase}`);
    }
    const study = await rest.call<{ MainDicomTags: Record<string, string> }>(
      'GET',
      `/studies/${series.ParentStudy}`,
    );
    const studyUid = study.MainDicomTags.StudyInstanceUID;
    if (!isUid(studyUid))
      return skip(`StudyInstanceUID ${JSON.stringify(studyUid)} is not a DICOM UID`);
    const outcome = await analyseForWatcher(run, `watch-${orthancId}`, studyUid, uid, options.maps);
    if ('failed' in outcome) return skip(outcome.failed);
    await rest.call('PUT', `/series/${orthancId}/metadata/${key}`, outcome.phase);
    return { orthancId, seriesInstanceUid: uid, action: 'analysed', phase: outcome.phase };
  }
}
