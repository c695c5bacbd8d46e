import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { HttpFailure } from './errors';

/**
 * One instance for STOW-RS: its Part 10 length up front and its bytes made as they are read, so
 * a large object (a 600-frame Parametric Map) is sent without ever being whole in memory.
 */
export interface StowInstance {
  byteLength: number;
  /** The bytes in order; called again for a retried request. */
  chunks(): Iterable<Uint8Array>;
}

export type StowBody = ArrayBuffer | Uint8Array | StowInstance;

function asInstance(body: StowBody): StowInstance {
  if (body instanceof ArrayBuffer || body instanceof Uint8Array) {
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
    return { byteLength: bytes.byteLength, chunks: () => [bytes] };
  }
  return body;
}

/** Making the body failed on this side (not the PACS, not the network): `cause` says why. */
export class StowBodyError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

function failure(message: string, status: number, extra: HttpFailure['request'] = {}): HttpFailure {
  const error = new Error(message) as HttpFailure;
  error.status = status;
  error.request = extra;
  return error;
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 4 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 4 }),
};

/**
 * POSTs instances as one multipart/related STOW-RS request with a known Content-Length, writing
 * each part as it is made and waiting for the socket to drain (the PACS sets the pace). Resolves
 * with the answer's JSON text; rejects like the GET paths (HttpFailure: status 0 for network
 * errors and timeouts, else the HTTP status). `timeoutMs` bounds every idle gap while sending,
 * and the wait for the answer after it, plus a second per 5 MB sent.
 */
export function stowPost(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  bodies: readonly StowBody[],
): Promise<string> {
  const u = new URL(url);
  const boundary = `phaselens-${randomUUID()}`;
  const instances = bodies.map(asInstance);
  const opening = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1');
  const between = Buffer.from('\r\n', 'latin1');
  const closing = Buffer.from(`--${boundary}--\r\n`, 'latin1');
  const length =
    instances.reduce((n, i) => n + opening.length + i.byteLength + between.length, 0) +
    closing.length;
  const transport = u.protocol === 'https:' ? https : http;
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined, text?: string): void => {
      if (settled) return;
      settled = true;
      // Answered (or failed) before the whole body went out, a 401 say: the connection is in
      // the middle of a body nobody reads, so it is closed, never handed back to the pool.
      if (!request.writableFinished) request.destroy();
      if (error) reject(error);
      else resolve(text ?? '');
    };
    const request = transport.request(
      u,
      {
        method: 'POST',
        agent: agents[u.protocol === 'https:' ? 'https:' : 'http:'],
        headers: {
          ...headers,
          'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
          'Content-Length': String(length),
          Accept: 'application/dicom+json',
        },
      },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (c: Buffer) => parts.push(c));
        response.on('error', (e) => settle(failure(e.message, 0, { networkError: e.message })));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300)
            settle(failure(`request failed (HTTP ${status})`, status));
          else settle(undefined, Buffer.concat(parts).toString('utf8'));
        });
      },
    );
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      settle(failure('timeout', 0, { timedOut: true }));
    });
    request.on('error', (e) => settle(failure(e.message, 0, { networkError: e.message })));
    const write = async (): Promise<void> => {
      const drained = (): Promise<void> =>
        new Promise((done) => {
          const go = (): void => {
            request.off('drain', go);
            request.off('close', go);
            done();
          };
          request.on('drain', go);
          request.on('close', go);
        });
      const put = async (bytes: Uint8Array): Promise<void> => {
        if (!request.write(bytes)) await drained();
      };
      for (const instance of instances) {
        if (settled || request.destroyed) return;
        await put(opening);
        let sent = 0;
        for (const chunk of instance.chunks()) {
          if (settled || request.destroyed) return;
          sent += chunk.byteLength;
          await put(chunk);
        }
        if (sent !== instance.byteLength) {
          request.destroy();
          // A bug of the writer's, not of the network: not retried.
          settle(
            new Error(`an instance made ${sent} bytes, not the ${instance.byteLength} announced`),
          );
          return;
        }
        await put(between);
      }
      // The PACS parses and stores everything before it answers: for a large body that takes
      // longer than any idle gap while sending, so the wait for the answer grows with the bytes
      // (at least 5 MB a second assumed).
      if (timeoutMs > 0) request.setTimeout(timeoutMs + Math.ceil(length / 5000));
      request.end(closing);
    };
    // Making an instance's bytes failed: our error, not the PACS's, passed on as it is.
    write().catch((e: unknown) => {
      settle(new StowBodyError(e instanceof Error ? e : new Error(String(e))));
    });
  });
}
