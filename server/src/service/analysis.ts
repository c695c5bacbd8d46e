import dcmjs, { type NaturalDataset } from 'dcmjs';
import { METHODS } from '../attribution/index';
import { explainSeries } from '../attribution/explain-series';
import { derivedUids } from '../derived/common';
import { deriveObjects, storeDerived, type DerivedKind } from '../derived/derive';
import type { OutputSettings } from '../derived/output-settings';
import { PhaseReport } from '../derived/phase-report';
import { DicomWebClient, type PacsAuth } from '../dicomweb/client';
import type { PhaseModel } from '../model/inference/phase-model';
import type { Phase } from '../domain/phase';
import { readDicomWebSeries } from '../series/read-dicomweb';
import type { AssembleOptions } from '../series/assemble';
import { DEFAULT_SCRATCH_MB, ScratchSpace, type ScratchSettings } from '../util/planes';
import os from 'node:os';
import type { AnalysisResult, Job, JobProgress, RunAnalysis } from './jobs';

/** PACS credentials for a job: the viewer's header in pass-through mode, else the service's. */
export function authFor(
  authorization: string | undefined,
  own: PacsAuth | undefined,
): PacsAuth | undefined {
  if (!authorization) return own;
  const [scheme, value] = authorization.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme) && value) return { token: value };
  if (/^basic$/i.test(scheme) && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const at = decoded.indexOf(':');
    if (at > 0) return { username: decoded.slice(0, at), password: decoded.slice(at + 1) };
  }
  return own;
}

/**
 * What an analysis needs in memory, with some margin: a fixed part (Node, the model, the
 * WebAssembly heap, the batches being made and written) and, per slice being decoded, its HU
 * and about 1 byte a voxel beside them. The HU volume and the maps' planes (64 KiB a slice and
 * map on the network's input grid) go to scratch files, so memory does not grow with the series.
 */
export const ANALYSIS_FIXED_MB = 384;
export const BYTES_BESIDE_HU = 1;
export const mapBytesPerSlice = (maps: number): number => maps * 128 * 128 * 4;

function memoryBudget(memoryMb: number): NonNullable<AssembleOptions['memory']> {
  return {
    budgetBytes: memoryMb * 2 ** 20,
    fixedBytes: ANALYSIS_FIXED_MB * 2 ** 20,
    bytesPerVoxel: BYTES_BESIDE_HU,
    advice: 'raise PHASELENS_ANALYSIS_MEMORY_MB',
  };
}

/**
 * One analysis: read the series over DICOMweb, classify it, compute the maps, and (with
 * write-back) store the Secondary Capture and Parametric Map series and the phase report.
 * Progress: reading 0-0.35, classifying and maps 0.35-0.8, writing 0.8-1.
 */
export function analysisRunner(
  model: PhaseModel,
  pacsUrl: string,
  pacsAuth: PacsAuth | undefined,
  options: { output?: OutputSettings; memoryMb?: number; scratch?: ScratchSettings } = {},
): RunAnalysis {
  return async (job: Job, report: (p: JobProgress) => void): Promise<AnalysisResult> => {
    const { dir, mb } = options.scratch ?? { dir: os.tmpdir(), mb: DEFAULT_SCRATCH_MB };
    const scratch = new ScratchSpace(dir, mb * 2 ** 20);
    try {
      return await analyse(job, report, scratch);
    } finally {
      try {
        scratch.close();
      } catch {
        // The files are unlinked: a close that fails leaves nothing to clean, and must not
        // hide the analysis's own result or error.
      }
    }
  };

  async function analyse(
    job: Job,
    report: (p: JobProgress) => void,
    scratch: ScratchSpace,
  ): Promise<AnalysisResult> {
    const { request } = job;
    const auth = authFor(job.authorization, pacsAuth);
    const client = new DicomWebClient({ url: pacsUrl, auth });
    const series = await readDicomWebSeries(
      {
        root: pacsUrl,
        studyInstanceUid: request.studyInstanceUid,
        seriesInstanceUid: request.seriesInstanceUid,
      },
      {
        client,
        auth,
        onProgress: (done, total) => report({ stage: 'reading', fraction: 0.35 * (done / total) }),
        scratch,
        bytesPerSlice: mapBytesPerSlice(request.maps.length),
        ...(options.memoryMb ? { memory: memoryBudget(options.memoryMb) } : {}),
      },
    );
    report({ stage: 'classifying', fraction: 0.35 });
    const { result, maps } = await explainSeries(model, series, {
      methods: request.maps.map((m) => METHODS[m]),
      scratch,
      onProgress: (done, total) =>
        report({ stage: 'maps', fraction: 0.35 + 0.45 * (done / total) }),
    });
    const derivedSeries: AnalysisResult['derivedSeries'] = {
      secondaryCaptures: {},
      parametricMaps: {},
    };
    if (request.writeBack) {
      report({ stage: 'writing', fraction: 0.8 });
      const objects = deriveObjects(series, result, maps, options.output);
      await storeDerived(objects, client, (done, total) =>
        report({ stage: 'writing', fraction: 0.8 + 0.2 * (done / total) }),
      );
      for (const d of objects.series) {
        if (d.kind === 'phase-report') derivedSeries.phaseReport = d.seriesInstanceUid;
        else derivedSeries[API_FIELD[d.kind]][d.key] = d.seriesInstanceUid;
      }
    }
    return {
      phase: result.phase,
      leading: result.leading,
      confidence: result.confidence,
      ...(result.reason ? { reason: result.reason } : {}),
      ...(result.warnings.length ? { warnings: result.warnings } : {}),
      probabilities: result.probabilities,
      slices: result.slices,
      model: result.model,
      derivedSeries,
    };
  }
}

type MapKind = Exclude<DerivedKind, 'phase-report'>;
/** Where the API's derivedSeries lists each kind of map series, by map name. */
const API_FIELD: Record<MapKind, 'secondaryCaptures' | 'parametricMaps'> = {
  'secondary-capture': 'secondaryCaptures',
  'parametric-map': 'parametricMaps',
};

export interface StoredPhase {
  phase: Phase | 'indeterminate';
  probabilities: Record<Phase, number>;
  model: { name: string; version: string };
  studyInstanceUid: string;
  phaseReportSeriesInstanceUid: string;
}

/**
 * The phase of a series as a PhaseLens report in the PACS says it (auto-tagged by the watcher
 * or an earlier analysis): QIDO finds the series' study, the report's series UID follows from
 * the source series and the model (deterministic UIDs), and its metadata holds the phase.
 */
export async function phaseFromPacs(
  client: DicomWebClient,
  seriesInstanceUid: string,
  model: { name: string; version: string },
): Promise<StoredPhase | undefined> {
  const found = await client.searchForSeries({ SeriesInstanceUID: seriesInstanceUid });
  const study = found[0]?.['0020000D']?.Value?.[0] as string | undefined;
  if (!study) return undefined;
  const reportSeries = derivedUids(seriesInstanceUid, model, 'phase-report').seriesInstanceUid;
  let metadata;
  try {
    metadata = await client.retrieveSeriesMetadata(study, reportSeries);
  } catch {
    return undefined;
  }
  for (const json of metadata) {
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(json) as NaturalDataset;
    const read = PhaseReport.read(ds);
    if (read && read.sourceSeriesInstanceUid === seriesInstanceUid)
      return {
        phase: read.phase,
        probabilities: read.probabilities,
        model: read.model,
        studyInstanceUid: study,
        phaseReportSeriesInstanceUid: reportSeries,
      };
  }
  return undefined;
}
