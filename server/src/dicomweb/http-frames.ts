import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { HttpFailure } from './errors';

/**
 * WADO-RS frame retrieval straight over Node's http with keep-alive sockets. dicomweb-client over
 * the xhr2 polyfill measured about 2.5x slower than curl on 100-frame series (buffer copies per
 * chunk, a new socket per request); frames are the bulk of the bytes, so they take this path.
 */
/**
 * Node drops a pooled socket when the server's Keep-Alive hint is 1 s or less (Orthanc sends
 * timeout=1), so every frame paid for a new connection. These agents keep sockets for a short
 * idle time of their own instead; a socket the server closed meanwhile fails fast and is retried.
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

const agents = {
  http: keepAlive(new http.Agent({ keepAlive: true, maxSockets: 16 })),
  https: keepAlive(new https.Agent({ keepAlive: true, maxSockets: 16 })),
};

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

/** Receives a frame's bytes as they arrive, when it chose to (see httpGetFrame). */
export interface FrameConsumer {
  /** Called with the part's headers; true to take the body as a stream of chunks. */
  accept(partContentType: string, partLength: number): boolean;
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
export function httpGetFrame(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  consumer: FrameConsumer,
): Promise<FrameAnswer> {
  const secure = url.startsWith('https:');
  const get = secure ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const request = get(
      url,
      { headers, agent: secure ? agents.https : agents.http },
      (response) => {
        const status = response.statusCode ?? 0;
        const envelope = String(response.headers['content-type'] ?? '');
        const chunks: Buffer[] = [];
        let head: Buffer | undefined = Buffer.alloc(0);
        let remaining = -1; // bytes of streamed body still due; -1 while not streaming
        response.on('data', (c: Buffer) => {
          if (status < 200 || status >= 300) return;
          if (remaining >= 0) {
            const take = Math.min(remaining, c.length);
            if (take > 0) consumer.chunk(c.subarray(0, take));
            remaining -= take;
            return;
          }
          chunks.push(c);
          if (!head) return; // buffering the whole answer
          head = head.length > 0 ? Buffer.concat([head, c]) : c; // most part headers fit one chunk
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
            chunks.length = 0;
          }
          head = undefined;
        });
        response.on('error', (e) => reject(failure(e.message, 0, { networkError: e.message })));
        response.on('end', () => {
          if (status < 200 || status >= 300)
            return reject(failure(`request failed (HTTP ${status})`, status));
          if (remaining > 0)
            return reject(
              failure(`frame answer ended ${remaining} bytes short`, 0, {
                networkError: 'truncated answer',
              }),
            );
          if (remaining === 0) return resolve({ streamed: true, contentType: envelope });
          try {
            resolve({
              streamed: false,
              contentType: envelope,
              parts: parseMultipart(Buffer.concat(chunks), envelope),
            });
          } catch (error) {
            reject(
              failure((error as Error).message, 0, { networkError: (error as Error).message }),
            );
          }
        });
      },
    );
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      reject(failure('timeout', 0, { timedOut: true }));
    });
    request.on('error', (e) => reject(failure(e.message, 0, { networkError: e.message })));
  });
}

/**
 * GET of a DICOM JSON answer (QIDO-RS, WADO-RS metadata) on the same keep-alive sockets as the
 * frames: the xhr2 polyfill spent more time copying a series' metadata than Orthanc took to
 * send it. 204 No Content is an empty list.
 */
export function httpGetJson<T>(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<T[]> {
  const secure = url.startsWith('https:');
  const get = secure ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const request = get(
      url,
      {
        headers: { ...headers, Accept: 'application/dicom+json' },
        agent: secure ? agents.https : agents.http,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', (e) => reject(failure(e.message, 0, { networkError: e.message })));
        response.on('end', () => {
          if (status === 204) return resolve([]);
          if (status < 200 || status >= 300)
            return reject(failure(`request failed (HTTP ${status})`, status));
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve(text.trim() ? (JSON.parse(text) as T[]) : []);
          } catch (error) {
            reject(
              failure(`not JSON: ${(error as Error).message}`, 0, { networkError: 'bad JSON' }),
            );
          }
        });
      },
    );
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      reject(failure('timeout', 0, { timedOut: true }));
    });
    request.on('error', (e) => reject(failure(e.message, 0, { networkError: e.message })));
  });
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
