import net from 'node:net';
import type { HttpFailure } from './errors';

/**
 * A minimal HTTP/1.1 GET client for DICOMweb reads over plain http: keep-alive sockets per
 * origin, each reading into one reused 64 KiB buffer (net's `onread`), responses parsed by hand.
 *
 * Why: reading a 100-slice series is about 100 requests and 52 MB. Node's http module spent
 * about 130 ms of CPU on them (an allocated Buffer per socket read, the garbage collector, its
 * parser and stream machinery) where this spends about 20 ms, and on a 2-core machine every
 * millisecond of it is taken from the PACS serving the frames. https stays on Node's module.
 *
 * Body bytes are handed over as views of the reused buffer: a sink must consume them before it
 * returns (copy what it keeps).
 */

export interface ResponseSink {
  /** The status and headers (names lower-cased), before any body byte. */
  head(status: number, headers: Record<string, string>): void;
  /** Body bytes, valid only during the call. */
  body(chunk: Buffer): void;
}

/** Sockets kept per origin, as Node's agents did here. */
const MAX_SOCKETS = 16;
/** Idle sockets close before Orthanc's own keep-alive timeout (1 s) would close them under us. */
const IDLE_MS = 800;
const READ_BUFFER = 64 * 1024;

function failure(message: string, extra: HttpFailure['request']): HttpFailure {
  const error = new Error(message) as HttpFailure;
  error.status = 0;
  error.request = extra;
  return error;
}

type BodyMode =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailer'; remaining: number }
  | { kind: 'until-close' };

/** One request's response, parsed as bytes arrive. */
class ResponseParser {
  private headBytes: Buffer[] = [];
  private headLength = 0;
  private mode: BodyMode | undefined;
  private line: Buffer[] = []; // a chunked-encoding line split across reads
  keepAlive = true;
  done = false;
  sawBytes = false;

  constructor(private readonly sink: ResponseSink) {}

  /** Takes bytes; throws on a malformed response. */
  push(data: Buffer): void {
    this.sawBytes = true;
    let at = 0;
    while (at < data.length && !this.done) {
      if (!this.mode) at = this.readHead(data, at);
      else at = this.readBody(data, at, this.mode);
    }
    if (this.done && at < data.length) throw new Error('bytes after the end of the response');
  }

  /** The server closed the connection: the end of an until-close body, else a truncation. */
  end(): boolean {
    if (this.mode?.kind === 'until-close') this.done = true;
    return this.done;
  }

  private readHead(data: Buffer, at: number): number {
    const rest = data.subarray(at);
    // The blank line may straddle reads: search the tail of what came before too.
    const carry = Math.min(3, this.headLength);
    const joined = this.headLength ? Buffer.concat([...this.headBytes, rest]) : rest;
    const end = joined.indexOf('\r\n\r\n', Math.max(0, this.headLength - carry));
    if (end < 0) {
      if (this.headLength + rest.length > 64 * 1024) throw new Error('response headers too long');
      this.headBytes.push(Buffer.from(rest)); // copied: the read buffer is reused
      this.headLength += rest.length;
      return data.length;
    }
    const lines = joined.toString('latin1', 0, end).split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
    if (!status) throw new Error(`not an HTTP response (${lines[0].slice(0, 40)})`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(':');
      if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
    }
    const code = Number(status[2]);
    const consumed = end + 4 - this.headLength; // bytes of `rest` that belonged to the head
    this.headBytes = [];
    this.headLength = 0;
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (code >= 100 && code < 200) return at + consumed;
    const connection = (headers.connection ?? '').toLowerCase();
    this.keepAlive = status[1] === '1' ? connection !== 'close' : connection === 'keep-alive';
    const length = headers['content-length'];
    if (code === 204 || code === 304) this.mode = { kind: 'none' };
    else if (/chunked/i.test(headers['transfer-encoding'] ?? ''))
      this.mode = { kind: 'chunked', state: 'size', remaining: 0 };
    else if (length !== undefined && /^\d+$/.test(length))
      this.mode = { kind: 'length', remaining: Number(length) };
    else {
      this.mode = { kind: 'until-close' };
      this.keepAlive = false;
    }
    this.sink.head(code, headers);
    if (this.mode.kind === 'none' || (this.mode.kind === 'length' && this.mode.remaining === 0))
      this.done = true;
    return at + consumed;
  }

  private readBody(data: Buffer, at: number, mode: BodyMode): number {
    switch (mode.kind) {
      case 'none':
        this.done = true;
        return at;
      case 'until-close':
        this.sink.body(data.subarray(at));
        return data.length;
      case 'length': {
        const take = Math.min(mode.remaining, data.length - at);
        if (take > 0) this.sink.body(data.subarray(at, at + take));
        mode.remaining -= take;
        if (mode.remaining === 0) this.done = true;
        return at + take;
      }
      case 'chunked':
        return this.readChunked(data, at, mode);
    }
  }

  private readChunked(
    data: Buffer,
    at: number,
    mode: Extract<BodyMode, { kind: 'chunked' }>,
  ): number {
    if (mode.state === 'data') {
      const take = Math.min(mode.remaining, data.length - at);
      if (take > 0) this.sink.body(data.subarray(at, at + take));
      mode.remaining -= take;
      if (mode.remaining === 0) mode.state = 'data-end';
      return at + take;
    }
    // A CRLF-terminated line: a chunk size, the CRLF after a chunk, or a trailer line.
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) {
      this.line.push(Buffer.from(data.subarray(at)));
      return data.length;
    }
    const text = Buffer.concat([...this.line, data.subarray(at, eol)]).toString('latin1');
    this.line = [];
    if (mode.state === 'data-end') {
      if (text !== '') throw new Error('chunked body: a chunk does not end with CRLF');
      mode.state = 'size';
    } else if (mode.state === 'size') {
      const size = parseInt(text.split(';')[0].trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new Error(`chunked body: bad size "${text}"`);
      mode.remaining = size;
      mode.state = size === 0 ? 'trailer' : 'data';
    } else if (text === '') {
      this.done = true; // the blank line after the last chunk's trailers
    }
    return eol + 2;
  }
}

/** One keep-alive socket and the response it is reading, if any. */
class Connection {
  parser: ResponseParser | undefined;
  reused = false;
  private idleTimer: NodeJS.Timeout | undefined;
  onFinish: ((error?: HttpFailure) => void) | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly pool: Pool,
  ) {
    socket.on('error', (e) => this.fail(e.message));
    socket.on('close', () => this.closed());
    socket.on('end', () => this.closed());
  }

  static open(pool: Pool): Connection {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    const reader: { connection?: Connection } = {}; // set below, before any byte can arrive
    const socket = net.connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer,
        callback: (n: number) => {
          reader.connection?.data(buffer.subarray(0, n));
          return true;
        },
      },
    } as net.NetConnectOpts);
    reader.connection = new Connection(socket, pool);
    return reader.connection;
  }

  private data(bytes: Buffer): void {
    const parser = this.parser;
    if (!parser) {
      this.socket.destroy(); // bytes nobody asked for: the connection is out of step
      return;
    }
    try {
      parser.push(bytes);
    } catch (error) {
      this.fail((error as Error).message);
      return;
    }
    if (parser.done) this.finish();
  }

  private closed(): void {
    this.pool.forget(this);
    const parser = this.parser;
    if (!parser) return;
    if (parser.end()) this.finish();
    else this.fail('the PACS closed the connection mid-answer');
  }

  fail(message: string, extra: HttpFailure['request'] = { networkError: message }): void {
    this.socket.destroy();
    this.pool.forget(this);
    const finish = this.onFinish;
    this.parser = undefined;
    this.onFinish = undefined;
    finish?.(failure(message, extra));
  }

  private finish(): void {
    const finish = this.onFinish;
    const keep = this.parser?.keepAlive ?? false;
    this.parser = undefined;
    this.onFinish = undefined;
    if (keep) this.pool.release(this);
    else {
      this.socket.destroy();
      this.pool.forget(this);
    }
    finish?.();
  }

  idle(): void {
    this.socket.unref();
    this.idleTimer = setTimeout(() => {
      this.socket.destroy();
      this.pool.forget(this);
    }, IDLE_MS);
    this.idleTimer.unref();
  }

  busy(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.socket.ref();
  }
}

/** The sockets of one origin: at most MAX_SOCKETS, idle ones reused most-recent first. */
class Pool {
  private readonly idleConnections: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: ((c: Connection) => void)[] = [];

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  acquire(): Promise<Connection> {
    const idle = this.idleConnections.pop();
    if (idle) {
      idle.busy();
      idle.reused = true;
      return Promise.resolve(idle);
    }
    if (this.all.size < MAX_SOCKETS) {
      const c = Connection.open(this);
      this.all.add(c);
      return Promise.resolve(c);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(c: Connection): void {
    const next = this.waiting.shift();
    if (next) {
      c.reused = true;
      next(c);
      return;
    }
    c.idle();
    this.idleConnections.push(c);
  }

  forget(c: Connection): void {
    if (!this.all.delete(c)) return;
    const i = this.idleConnections.indexOf(c);
    if (i >= 0) this.idleConnections.splice(i, 1);
    // A waiter takes the freed slot on a fresh socket.
    const next = this.waiting.shift();
    if (next) {
      const fresh = Connection.open(this);
      this.all.add(fresh);
      next(fresh);
    }
  }
}

const pools = new Map<string, Pool>();

function poolOf(url: URL): Pool {
  const key = `${url.hostname}:${url.port || 80}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 80));
    pools.set(key, pool);
  }
  return pool;
}

/**
 * GET over plain http. Resolves when the whole response has gone to the sink, whatever its
 * status; rejects with an HttpFailure (status 0) on a network error, a malformed answer or a
 * timeout. A reused socket the server had closed is retried once on a fresh one.
 */
export async function leanGet(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  sink: ResponseSink,
): Promise<void> {
  if (url.protocol !== 'http:') throw new Error(`leanGet speaks plain http only (${url.href})`);
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
      throw new Error(`header ${name.slice(0, 40)} holds a line break`);
    head += `${name}: ${value}\r\n`;
  }
  const request = Buffer.from(`${head}\r\n`, 'latin1');
  const pool = poolOf(url);
  for (let attempt = 0; ; attempt++) {
    const connection = await pool.acquire();
    const parser = new ResponseParser(sink);
    const reused = connection.reused;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => connection.fail('timeout', { timedOut: true }), timeoutMs);
        connection.parser = parser;
        connection.onFinish = (error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        connection.socket.write(request);
      });
      return;
    } catch (error) {
      // A kept-alive socket closed by the server before any answer: try once more, fresh.
      const stale = reused && !parser.sawBytes && !(error as HttpFailure).request?.timedOut;
      if (!stale || attempt > 0) throw error;
    }
  }
}
