import dcmjs from 'dcmjs';
import { InvalidInputError, PacsAuthError, PacsError, SeriesNotFoundError } from '../errors';
import {
  DicomWebClient,
  type DicomWebClientOptions,
  type RetrievedFrame,
} from '../dicomweb/client';
import { assembleSeries, type AssembleOptions } from './assemble';
import { sliceRecordsOf, type SliceRecord } from './slice-record';
import type { CtSeries } from './types';
import { stringOf } from './pixel-module';

export interface DicomWebSeriesRef {
  /** DICOMweb root, without /studies/... */
  root: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Splits `https://pacs/dicom-web/studies/<study>/series/<series>` into root and UIDs. */
export function parseSeriesUrl(url: string): DicomWebSeriesRef {
  const m = /^(https?:\/\/.+?)\/studies\/([^/]+)\/series\/([^/?#]+)\/?$/.exec(url);
  if (!m) {
    throw new InvalidInputError(
      `${url} is not a DICOMweb series URL (…/studies/<study UID>/series/<series UID>)`,
    );
  }
  const [, root, study, series] = m;
  for (const uid of [study, series]) {
    if (!UID.test(uid) || uid.length > 64)
      throw new InvalidInputError(`${url}: "${uid}" is not a DICOM UID`);
  }
  return { root, studyInstanceUid: study, seriesInstanceUid: series };
}

export interface DicomWebReadOptions extends AssembleOptions, Omit<DicomWebClientOptions, 'url'> {
  /**
   * How frames travel: 'uncompressed' asks the server to transcode, 'as-stored' takes them as held
   * and decodes here, 'auto' asks for uncompressed and falls back to as-stored when the server
   * cannot transcode.
   */
  frames?: 'auto' | 'uncompressed' | 'as-stored';
  client?: DicomWebClient;
}

/** Whether a failed uncompressed request means "cannot transcode" rather than a real fault. */
function cannotTranscode(error: unknown): boolean {
  return (
    error instanceof PacsError &&
    !(error instanceof PacsAuthError) &&
    !(error instanceof SeriesNotFoundError) &&
    error.status !== undefined &&
    [400, 406, 415, 500, 501].includes(error.status)
  );
}

/**
 * Reads a CT series from a DICOMweb server: QIDO-RS for its instances, WADO-RS metadata for
 * geometry, then WADO-RS frames for exactly the slices selected.
 */
export async function readDicomWebSeries(
  ref: DicomWebSeriesRef,
  options: DicomWebReadOptions = {},
): Promise<CtSeries> {
  const client = options.client ?? new DicomWebClient({ ...options, url: ref.root });
  const { studyInstanceUid: study, seriesInstanceUid: series } = ref;
  const location = `${ref.root}/studies/${study}/series/${series}`;
  const notFound = (): SeriesNotFoundError =>
    new SeriesNotFoundError(`series ${series} is not in the PACS ${ref.root}`, 404);
  const asNotFound = (error: unknown): never => {
    throw error instanceof SeriesNotFoundError ? notFound() : error;
  };
  // QIDO runs beside metadata and frames: it confirms the instance list without delaying them.
  const qido = client.searchForInstances(study, series).catch(asNotFound);
  qido.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  const metadata = await client.retrieveSeriesMetadata(study, series).catch(asNotFound);
  if (metadata.length === 0) throw notFound();
  let mode: Promise<'uncompressed' | 'as-stored'> | undefined =
    options.frames === 'as-stored' || options.frames === 'uncompressed'
      ? Promise.resolve(options.frames)
      : undefined;
  const fetchFrame = async (sop: string, frame: number): Promise<RetrievedFrame> => {
    if (!mode) {
      // The first request decides for the whole series.
      const first = client.retrieveFrame(study, series, sop, frame, false);
      mode = first.then(
        () => 'uncompressed' as const,
        (error: unknown) => {
          if (cannotTranscode(error)) return 'as-stored' as const;
          throw error;
        },
      );
      if ((await mode) === 'uncompressed') return first;
    }
    return client.retrieveFrame(study, series, sop, frame, (await mode) === 'as-stored');
  };

  const records: SliceRecord[] = [];
  for (const json of metadata) {
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(json);
    const sop = stringOf(ds.SOPInstanceUID) ?? '';
    const where = `${location}/instances/${sop}`;
    if (stringOf(ds.Modality) !== 'CT') continue;
    records.push(...sliceRecordsOf(ds, where, (i) => fetchFrame(sop, i + 1)));
  }
  if (records.length === 0) {
    const modalities = [
      ...new Set(metadata.map((j) => String(j['00080060']?.Value?.[0] ?? '(none)'))),
    ];
    throw new InvalidInputError(`${location}: not a CT series (modality ${modalities.join(', ')})`);
  }
  const [found, ct] = await Promise.all([
    qido,
    assembleSeries(records, { kind: 'dicomweb', location }, { concurrency: 6, ...options }),
  ]);
  const listed = new Set(found.map((j) => String(j['00080018']?.Value?.[0] ?? '')));
  const missing = ct.instances.find((i) => !listed.has(i.sopInstanceUid));
  if (missing) {
    throw new PacsError(
      `PACS ${ref.root}: instance ${missing.sopInstanceUid} has metadata but QIDO does not list it`,
    );
  }
  return ct;
}
