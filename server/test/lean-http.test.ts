import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { leanGet } from '../src/dicomweb/lean-http';
import type { HttpFailure } from '../src/dicomweb/errors';

/**
 * A raw TCP server that answers each GET with bytes written by hand, its first 300 bytes sent
 * in pieces of `piece` bytes with a pause between, so responses reach the client split at every
 * awkward place.
 */
interface Scenario {
  /** The raw response, or what to do instead. */
  answer: Buffer | 'hang' | { truncate: Buffer };
  piece?: number;
  /** Close the connection after answering, without saying so in the headers. */
  closeAfter?: boolean;
}

async function startServer(scenarios: Record<string, Scenario>) {
  const stats = { connections: 0, requests: [] as string[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    stats.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', async (d) => {
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        stats.requests.push(request);
        const path = request.split(' ')[1];
        const s = scenarios[path];
        if (!s || s.answer === 'hang') continue;
        const bytes = Buffer.isBuffer(s.answer) ? s.answer : s.answer.truncate;
        // The first 300 bytes in pieces (headers, blank line, body start), then the rest.
        const piece = s.piece ?? bytes.length;
        const split = Math.min(300, bytes.length);
        for (let i = 0; i < split; i += piece) {
          socket.write(bytes.subarray(i, Math.min(i + piece, split)));
          if (piece < bytes.length) await new Promise((r) => setTimeout(r, 1));
        }
        if (split < bytes.length) socket.write(bytes.subarray(split));
        if (!Buffer.isBuffer(s.answer) || s.closeAfter) socket.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => new URL(`http://127.0.0.1:${port}${path}`),
    stats,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const response = (head: string, body: Buffer | string = ''): Buffer =>
  Buffer.concat([
    Buffer.from(`${head.replace(/\n/g, '\r\n')}\r\n\r\n`, 'latin1'),
    Buffer.from(body),
  ]);

/** GETs `url`; the status, headers and body as received. */
async function fetchAll(url: URL, timeoutMs = 2000, headers: Record<string, string> = {}) {
  let status = 0;
  let heads: Record<string, string> = {};
  const chunks: Buffer[] = [];
  await leanGet(url, headers, timeoutMs, {
    head: (code, h) => {
      status = code;
      heads = h;
    },
    body: (c) => chunks.push(Buffer.from(c)),
  });
  return { status, headers: heads, body: Buffer.concat(chunks) };
}

describe('the plain-http GET client', () => {
  const payload = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 31) % 256));
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer({
      '/length': {
        answer: response(
          `HTTP/1.1 200 OK\nContent-Type: application/octet-stream\nContent-Length: ${payload.length}`,
          payload,
        ),
        piece: 7, // headers and blank line split across reads
      },
      '/chunked': {
        answer: response(
          'HTTP/1.1 200 OK\nTransfer-Encoding: chunked',
          '5;ext=1\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n',
        ),
        piece: 3,
      },
      '/close': {
        answer: response('HTTP/1.1 200 OK\nConnection: close\nContent-Length: 2', 'ok'),
      },
      '/until-close': { answer: response('HTTP/1.0 200 OK', 'all of it'), closeAfter: true },
      '/stale': {
        answer: response('HTTP/1.1 200 OK\nContent-Length: 5', 'first'),
        closeAfter: true,
      },
      '/empty': { answer: response('HTTP/1.1 204 No Content') },
      '/interim': {
        answer: Buffer.concat([
          response('HTTP/1.1 100 Continue'),
          response('HTTP/1.1 200 OK\nContent-Length: 5', 'final'),
        ]),
        piece: 5,
      },
      '/missing': { answer: response('HTTP/1.1 404 Not Found\nContent-Length: 4', 'nope') },
      '/truncated': {
        answer: { truncate: response('HTTP/1.1 200 OK\nContent-Length: 100', 'only part') },
      },
      '/hang': { answer: 'hang' },
      '/garbage': { answer: Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'), closeAfter: true },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('reads a Content-Length body whose headers arrive a few bytes at a time', async () => {
    const r = await fetchAll(server.url('/length'));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.body.equals(payload)).toBe(true);
  });

  it('decodes a chunked body with chunk extensions and trailers', async () => {
    const r = await fetchAll(server.url('/chunked'));
    expect(r.body.toString()).toBe('hello, world');
  });

  it('reuses one kept-alive socket for requests in sequence, and sends the headers given', async () => {
    const before = server.stats.connections;
    for (let i = 0; i < 3; i++) await fetchAll(server.url('/length'), 2000, { Accept: 'x/y' });
    expect(server.stats.connections - before).toBeLessThanOrEqual(1);
    expect(server.stats.requests.at(-1)).toMatch(
      /^GET \/length HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nAccept: x\/y$/,
    );
  });

  it('opens a new socket after "Connection: close", and reads a body that ends with the connection', async () => {
    expect((await fetchAll(server.url('/close'))).body.toString()).toBe('ok');
    const before = server.stats.connections;
    expect((await fetchAll(server.url('/close'))).body.toString()).toBe('ok');
    expect(server.stats.connections - before).toBe(1);
    expect((await fetchAll(server.url('/until-close'))).body.toString()).toBe('all of it');
  });

  it('retries on a fresh socket when the server had closed the kept one', async () => {
    expect((await fetchAll(server.url('/stale'))).body.toString()).toBe('first');
    await new Promise((r) => setTimeout(r, 20)); // the server's close reaches the client
    expect((await fetchAll(server.url('/stale'))).body.toString()).toBe('first');
  });

  it('hands statuses to the caller: 204 without a body, 404 with one, and skips a 100 Continue', async () => {
    expect(await fetchAll(server.url('/empty'))).toMatchObject({ status: 204 });
    const interim = await fetchAll(server.url('/interim'));
    expect([interim.status, interim.body.toString()]).toEqual([200, 'final']);
    const missing = await fetchAll(server.url('/missing'));
    expect([missing.status, missing.body.toString()]).toEqual([404, 'nope']);
  });

  it('rejects a truncated answer, a silent server and a non-HTTP answer as network failures', async () => {
    const failureOf = async (path: string, timeoutMs = 2000) =>
      fetchAll(server.url(path), timeoutMs).then(
        () => undefined,
        (e: HttpFailure) => ({ status: e.status, request: e.request }),
      );
    expect(await failureOf('/truncated')).toEqual({
      status: 0,
      request: { networkError: 'the PACS closed the connection mid-answer' },
    });
    expect(await failureOf('/hang', 100)).toEqual({ status: 0, request: { timedOut: true } });
    expect((await failureOf('/garbage'))?.request?.networkError).toMatch(/not an HTTP response/);
  });

  it('refuses header values with line breaks (no request smuggling through a token)', async () => {
    await expect(
      leanGet(server.url('/length'), { Authorization: 'Bearer x\r\nX-Evil: 1' }, 1000, {
        head: () => undefined,
        body: () => undefined,
      }),
    ).rejects.toThrow(/line break/);
  });

  it('keeps at most 16 sockets per origin, however many requests wait', async () => {
    const before = server.stats.connections;
    const bodies = await Promise.all(
      Array.from({ length: 40 }, () => fetchAll(server.url('/length'))),
    );
    expect(bodies.every((b) => b.body.equals(payload))).toBe(true);
    expect(server.stats.connections - before).toBeLessThanOrEqual(16);
  });

  it('an unreachable server is a network failure', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(fetchAll(new URL(`http://127.0.0.1:${port}/`))).rejects.toMatchObject({
      status: 0,
      request: { networkError: expect.stringMatching(/ECONNREFUSED/) },
    });
  });
});
