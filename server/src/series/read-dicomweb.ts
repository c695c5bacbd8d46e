import dcmjs from 'dcmjs';
import { InvalidInputError, PacsAuthError, PacsError, SeriesNotFoundError } from '../errors';
import {
  DicomWebClient,
  type DicomWebClientOptions,
  type RetrievedFrame,
} from '../dicomweb/client';
import { assembleSeries, type AssembleOptions, type InMemoryOptions } from './assemble';
import { sliceRecordsOf, type SliceRecord } from './slice-record';
import { isUid } from '../domain/uid';
import type { CtSeries, InMemorySeries } from './types';
import { stringOf, type PixelModule } from './pixel-module';
import { NativeFrameStream } from './native-frame-stream';
import { decodeFrameToHu } from './decode-frame';
import { frameByteLength } from './hu';
import { pixelEncoding } from './transfer-syntax';

export interface DicomWebSeriesRef {
  /** DICOMweb root, without /studies/... */
  root: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
}

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
    if (!isUid(uid)) throw new InvalidInputError(`${url}: "${uid}" is not a DICOM UID`);
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
  options?: DicomWebReadOptions & InMemoryOptions,
): Promise<InMemorySeries>;
export async function readDicomWebSeries(
  ref: DicomWebSeriesRef,
  options: DicomWebReadOptions,
): Promise<CtSeries>;
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
  let asStoredOnly = options.frames === 'as-stored';
  const fallBack = options.frames === undefined || options.frames === 'auto';
  /**
   * Runs `fetch` asking for uncompressed frames until the server shows it cannot transcode, then
   * as stored. Every frame starts at once (no waiting on a first one to learn the mode); on a
   * server that cannot transcode, the frames already in flight fail fast and are asked again.
   */
  const inMode = async <T>(fetch: (asStored: boolean) => Promise<T>): Promise<T> => {
    if (asStoredOnly) return fetch(true);
    try {
      return await fetch(false);
    } catch (error) {
      if (!fallBack || !cannotTranscode(error)) throw error;
      asStoredOnly = true;
      return fetch(true);
    }
  };
  const fetchFrame = (sop: string, frame: number): Promise<RetrievedFrame> =>
    inMode((asStored) => client.retrieveFrame(study, series, sop, frame, asStored));
  /** Uncompressed frames stream straight into HU; compressed ones are decoded whole. */
  const fetchFrameInto = (
    sop: string,
    frame: number,
    pm: PixelModule,
    out: Float32Array,
    where: string,
  ) =>
    inMode(async (asStored) => {
      let stream: NativeFrameStream | undefined;
      const whole = await client.streamFrame(
        study,
        series,
        sop,
        frame,
        asStored,
        (syntax, length) => {
          if (pixelEncoding(syntax) !== 'native' || length !== frameByteLength(pm))
            return undefined;
          const s = new NativeFrameStream(pm, out); // a fresh one for every attempt
          stream = s;
          return (chunk) => s.push(chunk);
        },
      );
      if (whole) await decodeFrameToHu(whole, pm, out, where);
      else stream?.finish(where);
    });

  const records: SliceRecord[] = [];
  for (const json of metadata) {
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(json);
    const sop = stringOf(ds.SOPInstanceUID) ?? '';
    const where = `${location}/instances/${sop}`;
    if (stringOf(ds.Modality) !== 'CT') continue;
    // The UID becomes part of a frame URL: a PACS-supplied "1.2/../../x" must not steer it.
    if (!isUid(sop))
      throw new InvalidInputError(`${location}: SOPInstanceUID "${sop}" is not a DICOM UID`);
    for (const record of sliceRecordsOf(ds, where, (i) => fetchFrame(sop, i + 1))) {
      const frame = record.frameNumber ?? 1;
      record.loadInto = (out) => fetchFrameInto(sop, frame, record.pixel, out, record.location);
      records.push(record);
    }
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
