import { PacsError } from '../errors';
import { isTransient, pacsError } from './errors';
import { httpGetFrame, httpGetJson } from './http-frames';
import { StowBodyError, stowPost, type StowBody } from './stow';

export type PacsAuth = { username: string; password: string } | { token: string };

/** The headers that present `auth` to a PACS (Basic or Bearer): built here only. */
export function authorizationHeaders(auth: PacsAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if ('token' in auth) return { Authorization: `Bearer ${auth.token}` };
  const basic = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
  return { Authorization: `Basic ${basic}` };
}

export interface DicomWebClientOptions {
  /** DICOMweb root, for example http://localhost:8042/dicom-web */
  url: string;
  auth?: PacsAuth;
  /** Per request (ms). */
  timeoutMs?: number;
  /** Further tries after a network error, timeout or 5xx. */
  retries?: number;
  /** First backoff delay (ms); doubles each retry, with jitter. */
  retryDelayMs?: number;
}

/** Dataset in DICOM JSON form (tag -> { vr, Value }). */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export interface RetrievedFrame {
  bytes: Uint8Array;
  /** The transfer syntax the server sent the frame in. */
  transferSyntaxUid: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/**
 * DICOMweb (QIDO-RS, WADO-RS, STOW-RS) with authentication, per-request timeouts, retries with
 * exponential backoff on transient failures, and typed errors naming the PACS. Every request goes
 * over Node's sockets (http-frames.ts, stow.ts) with the same headers, built once here; no
 * redirect is followed, so credentials never reach another origin.
 */
export class DicomWebClient {
  readonly url: string;
  readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: DicomWebClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.headers = authorizationHeaders(options.auth);
  }

  /** Runs one request, retrying transient failures with exponential backoff and jitter. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (raw) {
        // The body could not be made here: that is no PACS failure, and no retry helps.
        if (raw instanceof StowBodyError) throw raw.cause;
        const error = pacsError(raw, this.url, what, this.timeoutMs);
        if (attempt >= this.retries || !isTransient(error)) throw error;
        const delay = this.retryDelayMs * 2 ** attempt;
        await sleep(delay / 2 + Math.random() * delay);
      }
    }
  }

  async searchForInstances(
    studyInstanceUid: string,
    seriesInstanceUid: string,
  ): Promise<DicomJson[]> {
    const url = `${this.url}/studies/${studyInstanceUid}/series/${seriesInstanceUid}/instances`;
    return this.call(`QIDO instances of series ${seriesInstanceUid}`, () =>
      httpGetJson<DicomJson>(url, this.headers, this.timeoutMs),
    );
  }

  async searchForSeries(query: Record<string, string> = {}): Promise<DicomJson[]> {
    // Percent-encoded as DICOMweb servers expect (URLSearchParams would write a space as '+').
    const search = Object.entries(query)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    const url = `${this.url}/series${search ? `?${search}` : ''}`;
    return this.call('QIDO series', () =>
      httpGetJson<DicomJson>(url, this.headers, this.timeoutMs),
    );
  }

  async retrieveSeriesMetadata(
    studyInstanceUid: string,
    seriesInstanceUid: string,
  ): Promise<DicomJson[]> {
    const url = `${this.url}/studies/${studyInstanceUid}/series/${seriesInstanceUid}/metadata`;
    return this.call(`metadata of series ${seriesInstanceUid}`, () =>
      httpGetJson<DicomJson>(url, this.headers, this.timeoutMs),
    );
  }

  /**
   * Retrieves one frame. `asStored` asks for the frame as the server holds it (transfer-syntax=*);
   * otherwise uncompressed (the server transcodes).
   */
  async retrieveFrame(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    sopInstanceUid: string,
    frameNumber: number,
    asStored: boolean,
  ): Promise<RetrievedFrame> {
    const frame = await this.streamFrame(
      studyInstanceUid,
      seriesInstanceUid,
      sopInstanceUid,
      frameNumber,
      asStored,
      () => undefined,
    );
    if (!frame) throw new Error('unreachable: a frame nobody streamed');
    return frame;
  }

  /**
   * Like retrieveFrame, but offers the frame's bytes as they arrive: `sink` is asked, per
   * attempt, with the frame's transfer syntax and length, and returns a chunk handler to stream
   * (then this resolves undefined) or undefined to get the whole frame back.
   */
  async streamFrame(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    sopInstanceUid: string,
    frameNumber: number,
    asStored: boolean,
    sink: (transferSyntaxUid: string, length: number) => ((chunk: Uint8Array) => void) | undefined,
  ): Promise<RetrievedFrame | undefined> {
    const url =
      `${this.url}/studies/${studyInstanceUid}/series/${seriesInstanceUid}` +
      `/instances/${sopInstanceUid}/frames/${frameNumber}`;
    const accept = `multipart/related; type="application/octet-stream"${asStored ? '; transfer-syntax=*' : ''}`;
    const syntaxOf = (type: string): string | undefined =>
      /transfer-syntax="?([0-9.]+)/.exec(type)?.[1];
    const answer = await this.call(`frame ${frameNumber} of instance ${sopInstanceUid}`, () => {
      let handler: ((chunk: Uint8Array) => void) | undefined;
      return httpGetFrame(url, { ...this.headers, Accept: accept }, this.timeoutMs, {
        accept: (type, length) => {
          handler = sink(syntaxOf(type) ?? EXPLICIT_LE, length);
          return handler !== undefined;
        },
        chunk: (data) => handler?.(data),
      });
    });
    if (answer.streamed) return undefined;
    const part = answer.parts[0];
    if (!part) {
      throw new PacsError(
        `PACS ${this.url}: empty answer for frame ${frameNumber} of ${sopInstanceUid}`,
      );
    }
    // The part's own type names the transfer syntax; the envelope's type parameter may too.
    return {
      bytes: new Uint8Array(part.body.buffer, part.body.byteOffset, part.body.byteLength),
      transferSyntaxUid: syntaxOf(part.contentType) ?? syntaxOf(answer.contentType) ?? EXPLICIT_LE,
    };
  }

  /**
   * STOW-RS of Part 10 instances (whole, or made as they are sent: StowInstance); throws unless
   * the PACS reports every instance as stored.
   */
  async storeInstances(datasets: readonly StowBody[]): Promise<void> {
    const answer = await this.call(`STOW-RS of ${datasets.length} instances`, () =>
      stowPost(`${this.url}/studies`, this.headers, this.timeoutMs, datasets),
    );
    let reply: DicomJson | undefined;
    try {
      reply = JSON.parse(answer) as DicomJson;
    } catch {
      reply = undefined; // an XML answer: the HTTP status already said success
    }
    const failed = reply?.['00081198']?.Value?.length ?? 0;
    const stored = reply?.['00081199']?.Value?.length;
    if (failed > 0 || (stored !== undefined && stored < datasets.length)) {
      throw new PacsError(
        `PACS ${this.url}: STOW-RS stored ${stored ?? 0} of ${datasets.length} instances (${failed} refused)`,
      );
    }
  }
}
