import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { HttpFailure } from './errors';
import { leanGet, type ResponseSink } from './lean-http';

/**
 * DICOMweb GETs (frames, QIDO-RS, metadata) over Node's sockets. dicomweb-client, over an
 * XMLHttpRequest polyfill, read a 100-frame series about 2.5x slower than curl (buffer copies
 * per chunk, a new socket per request). Plain http goes through lean-http.ts; https through
 * Node's https module with keep-alive sockets. Redirects are answers, never followed.
 */

/**
 * Node drops a pooled socket when the server's Keep-Alive hint is 1 s or less (Orthanc sends
 * timeout=1), so every request paid for a new connection. This agent keeps sockets for a short
 * idle time of its own instead; a socket the server closed meanwhile fails fast and is retried.
 */
function keepAlive<T extends http.Agent>(agent: T): T {
  agent.keepSocketAlive = (duplex) => {
    const socket = duplex as Socket;
    socket.setKeepAlive(true, 1000);
    socket.unref();
    socket.setTimeout(800);
    return true;
  };
  return agent;
}

const httpsAgent = keepAlive(new https.Agent({ keepAlive: true, maxSockets: 16 }));

export interface MultipartPart {
  contentType: string;
  body: Buffer;
}

function failure(message: string, status: number, extra: HttpFailure['request'] = {}): HttpFailure {
  const error = new Error(message) as HttpFailure;
  error.status = status;
  error.request = extra;
  return error;
}

/** https GET through Node's module, feeding the same sink as the plain-http path. */
function httpsGet(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  sink: ResponseSink,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { headers, agent: httpsAgent }, (response) => {
      const names: Record<string, string> = {};
      for (const [k, v] of Object.entries(response.headers))
        if (v !== undefined) names[k] = Array.isArray(v) ? v.join(', ') : v;
      sink.head(response.statusCode ?? 0, names);
      response.on('data', (c: Buffer) => sink.body(c));
      response.on('error', (e) => reject(failure(e.message, 0, { networkError: e.message })));
      response.on('end', () => resolve());
    });
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      reject(failure('timeout', 0, { timedOut: true }));
    });
    request.on('error', (e) => reject(failure(e.message, 0, { networkError: e.message })));
  });
}

function get(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  sink: ResponseSink,
): Promise<void> {
  const u = new URL(url);
  return u.protocol === 'https:'
    ? httpsGet(u, headers, timeoutMs, sink)
    : leanGet(u, headers, timeoutMs, sink);
}

/** Receives a frame's bytes as they arrive, when it chose to (see httpGetFrame). */
export interface FrameConsumer {
  /** Called with the part's headers; true to take the body as a stream of chunks. */
  accept(partContentType: string, partLength: number): boolean;
  /** Bytes of the frame, valid only during the call. */
  chunk(data: Buffer): void;
}

export type FrameAnswer =
  | { streamed: true; contentType: string }
  | { streamed: false; contentType: string; parts: MultipartPart[] };

/**
 * GET of a single-part multipart answer (one frame). When the part declares its length and the
 * consumer accepts it, the body goes to the consumer chunk by chunk, with no copy of the whole
 * frame; otherwise the answer is buffered and split as usual.
 */
export async function httpGetFrame(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  consumer: FrameConsumer,
): Promise<FrameAnswer> {
  let status = 0;
  let envelope = '';
  const kept: Buffer[] = []; // copies: the transport reuses its read buffer
  let head: Buffer | undefined = Buffer.alloc(0); // bytes before the part's body, while looking
  let remaining = -1; // bytes of streamed body still due; -1 while not streaming
  await get(url, headers, timeoutMs, {
    head: (code, h) => {
      status = code;
      envelope = h['content-type'] ?? '';
    },
    body: (c) => {
      if (status < 200 || status >= 300) return;
      if (remaining >= 0) {
        const take = Math.min(remaining, c.length);
        if (take > 0) consumer.chunk(c.subarray(0, take));
        remaining -= take;
        return;
      }
      const copy = Buffer.from(c);
      kept.push(copy);
      if (!head) return; // buffering the whole answer
      head = head.length > 0 ? Buffer.concat([head, copy]) : copy;
      const boundary = /boundary="?([^";]+)"?/i.exec(envelope)?.[1];
      const start = boundary ? head.indexOf(`--${boundary}`) : -1;
      const end = start >= 0 ? head.indexOf('\r\n\r\n', start) : -1;
      if (end < 0) {
        if (head.length > 16384) head = undefined; // no part header in sight: buffer instead
        return;
      }
      const text = head.toString('latin1', start, end);
      const type = /content-type:\s*([^\r\n]+)/i.exec(text)?.[1] ?? '';
      const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? NaN);
      if (Number.isFinite(length) && consumer.accept(type, length)) {
        const rest = head.subarray(end + 4);
        const take = Math.min(length, rest.length);
        if (take > 0) consumer.chunk(rest.subarray(0, take));
        remaining = length - take;
        kept.length = 0;
      }
      head = undefined;
    },
  });
  if (status < 200 || status >= 300) throw failure(`request failed (HTTP ${status})`, status);
  if (remaining > 0)
    throw failure(`frame answer ended ${remaining} bytes short`, 0, {
      networkError: 'truncated answer',
    });
  if (remaining === 0) return { streamed: true, contentType: envelope };
  try {
    return {
      streamed: false,
      contentType: envelope,
      parts: parseMultipart(Buffer.concat(kept), envelope),
    };
  } catch (error) {
    throw failure((error as Error).message, 0, { networkError: (error as Error).message });
  }
}

/**
 * GET of a DICOM JSON answer (QIDO-RS, WADO-RS metadata) on the same keep-alive sockets as the
 * frames. 204 No Content is an empty list.
 */
export async function httpGetJson<T>(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<T[]> {
  let status = 0;
  const chunks: Buffer[] = [];
  await get(url, { ...headers, Accept: 'application/dicom+json' }, timeoutMs, {
    head: (code) => {
      status = code;
    },
    body: (c) => chunks.push(Buffer.from(c)),
  });
  if (status === 204) return [];
  if (status < 200 || status >= 300) throw failure(`request failed (HTTP ${status})`, status);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text.trim() ? (JSON.parse(text) as T[]) : [];
  } catch (error) {
    throw failure(`not JSON: ${(error as Error).message}`, 0, { networkError: 'bad JSON' });
  }
}

/** Splits a multipart/related body into its parts (RFC 2046), without copying the bodies. */
export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new Error(`not a multipart answer (${contentType})`);
  const delimiter = Buffer.from(`--${m[1]}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const afterDelimiter = at + delimiter.length;
    if (body[afterDelimiter] === 0x2d && body[afterDelimiter + 1] === 0x2d) break; // closing "--"
    const headerEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    if (headerEnd < 0) throw new Error('multipart part without headers');
    const headerText = body.toString('latin1', afterDelimiter, headerEnd);
    // With a Content-Length the next delimiter is found without scanning the frame's bytes.
    const length = Number(/content-length:\s*(\d+)/i.exec(headerText)?.[1] ?? NaN);
    const expected = headerEnd + 4 + length + 2;
    const next =
      Number.isFinite(length) &&
      body.subarray(expected, expected + delimiter.length).equals(delimiter)
        ? expected
        : body.indexOf(delimiter, headerEnd + 4);
    if (next < 0) throw new Error('multipart answer is truncated (no closing boundary)');
    const type = /content-type:\s*([^\r\n]+)/i.exec(headerText)?.[1] ?? 'application/octet-stream';
    // The body ends before the CRLF that precedes the next delimiter.
    parts.push({ contentType: type, body: body.subarray(headerEnd + 4, next - 2) });
    at = next;
  }
  return parts;
}
