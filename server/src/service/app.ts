import { isErrorCode, type ErrorCode } from './error-codes';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { isMapName, METHODS } from '../attribution/index';
import { DicomWebClient } from '../dicomweb/client';
import { PacsAuthError, PacsError, PhaseLensError } from '../errors';
import { isUid } from '../domain/uid';
import type { PhaseModel } from '../model/inference/phase-model';
import { authFor, phaseFromPacs } from './analysis';
import type { ServiceConfig } from './config';
import { QueueFullError, type AnalysisQueue, type AnalysisRequest, type JobView } from './jobs';
import type { Logger } from './log';
import { openApiDocument } from './openapi';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export { isUid };

class BadRequest extends Error {}

/** Checks an analysis request strictly: known fields only, valid UIDs and map names. */
export function parseAnalysisRequest(body: unknown, config: ServiceConfig): AnalysisRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter(
    (k) => !['studyInstanceUid', 'seriesInstanceUid', 'maps', 'writeBack'].includes(k),
  );
  if (unknown.length) throw new BadRequest(`unknown field(s): ${unknown.join(', ')}`);
  if (!isUid(b.studyInstanceUid)) throw new BadRequest('studyInstanceUid is not a valid DICOM UID');
  if (!isUid(b.seriesInstanceUid))
    throw new BadRequest('seriesInstanceUid is not a valid DICOM UID');
  let maps = config.defaultMaps;
  if (b.maps !== undefined) {
    const most = config.maxMapsPerRequest;
    if (!Array.isArray(b.maps) || b.maps.length > most || b.maps.some((m) => typeof m !== 'string'))
      throw new BadRequest(`maps must be an array of at most ${most} method names`);
    const bad = (b.maps as string[]).filter((m) => !isMapName(m));
    if (bad.length)
      throw new BadRequest(
        `unknown map(s): ${bad.join(', ')} (known: ${Object.keys(METHODS).join(', ')})`,
      );
    const refused = (b.maps as string[]).filter((m) => !config.allowedMaps.includes(m));
    if (refused.length)
      throw new BadRequest(
        `map(s) not offered by this service: ${refused.join(', ')} (offered: ${config.allowedMaps.join(', ')})`,
      );
    maps = [...new Set(b.maps as string[])];
  }
  if (b.writeBack !== undefined && typeof b.writeBack !== 'boolean')
    throw new BadRequest('writeBack must be true or false');
  return {
    studyInstanceUid: b.studyInstanceUid,
    seriesInstanceUid: b.seriesInstanceUid,
    maps,
    writeBack: (b.writeBack as boolean | undefined) ?? config.writeBack,
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface ServiceDeps {
  config: ServiceConfig;
  model: PhaseModel;
  queue: AnalysisQueue;
  log: Logger;
  /** Set when the service is stopping: no new analyses, not ready. */
  lifecycle?: { draining: boolean };
}

/**
 * The HTTP service: analyses (submit, state, SSE progress), the phase of a series, health and
 * readiness, and its OpenAPI document. Thin: parsing, auth and responses; the work is the queue's.
 */
/**
 * Every error the API answers: `{ error, code, requestId }`, `code` one of ERROR_CODES (stable:
 * clients branch on it, never on the English text).
 */
function fail(res: Response, status: number, code: ErrorCode, message: string): void {
  res.status(status).json({ error: message, code, requestId: res.locals.requestId });
}

export function createApp({
  config,
  model,
  queue,
  log,
  lifecycle = { draining: false },
}: ServiceDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Request id and structured access log.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const id = given && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () =>
      log.info('request', {
        requestId: id,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      }),
    );
    next();
  });

  // Path tricks: encoded slashes, dot segments, NUL.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (/%2f|%5c|%00|\/\.\.?(\/|$)/i.test(req.originalUrl.split('?')[0]))
      return void fail(res, 400, 'invalid-path', 'invalid path');
    next();
  });

  // CORS for configured origins only.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (origin && config.corsOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Request-Id');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, Location, Retry-After');
    }
    if (req.method === 'OPTIONS') {
      if (!origin || !config.corsOrigins.includes(origin))
        return void fail(res, 403, 'origin-not-allowed', 'origin not allowed');
      return void res.status(204).end();
    }
    next();
  });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/api/v1/openapi.json', (_req, res) => void res.json(openApiDocument));
  // The PACS check behind /readyz, shared for a few seconds: anyone may call /readyz, and a
  // flood of calls must not become a flood of PACS queries. Clients see the kind of failure;
  // the detail (which may name the PACS) goes to the log.
  let lastCheck: { at: number; result: Promise<string> } | undefined;
  const pacsCheck = (): Promise<string> => {
    if (lastCheck && Date.now() - lastCheck.at < 5000) return lastCheck.result;
    const result = new DicomWebClient({
      url: config.pacsUrl,
      auth: config.pacsAuth,
      retries: 0,
      timeoutMs: 5000,
    })
      .searchForSeries({ limit: '1' })
      .then(
        () => 'reachable',
        (error: unknown) => {
          log.warn('PACS not ready', { error: (error as Error).message });
          return error instanceof PhaseLensError ? error.code : 'pacs';
        },
      );
    lastCheck = { at: Date.now(), result };
    return result;
  };
  app.get('/readyz', async (_req, res) => {
    if (lifecycle.draining)
      return void res.status(503).json({ status: 'stopping', checks: { service: 'stopping' } });
    const checks: Record<string, string> = {
      model: `${model.metadata.name} ${model.metadata.version}`,
    };
    const pacs = await pacsCheck();
    checks.pacs = pacs;
    if (pacs !== 'reachable') return void res.status(503).json({ status: 'not ready', checks });
    res.json({ status: 'ok', checks });
  });

  // Authentication for the API.
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const deny = (): void => {
      res.setHeader(
        'WWW-Authenticate',
        config.auth === 'basic' ? 'Basic realm="PhaseLens"' : 'Bearer',
      );
      fail(res, 401, 'auth-required', 'authentication required');
    };
    if (config.auth === 'none') return next();
    if (config.auth === 'passthrough') {
      if (!/^(Bearer|Basic) \S+$/i.test(header)) return deny();
      res.locals.passAuthorization = header;
      return next();
    }
    if (config.auth === 'token') {
      const m = /^Bearer (\S+)$/i.exec(header);
      if (!m || !sameSecret(m[1], config.apiToken ?? '')) return deny();
      return next();
    }
    const m = /^Basic (\S+)$/i.exec(header);
    const user = config.apiUser;
    if (!m || !user) return deny();
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    if (!sameSecret(decoded, `${user.username}:${user.password}`)) return deny();
    next();
  });

  // JSON only as application/json: a cross-site form or text/plain POST (which a browser sends
  // without a preflight) must not start an analysis.
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'POST' && !req.is('application/json'))
      return void fail(
        res,
        415,
        'unsupported-media-type',
        'the body must be JSON sent as Content-Type: application/json',
      );
    next();
  });
  app.use(
    '/api',
    express.json({ limit: config.bodyLimit, strict: true, type: 'application/json' }),
  );

  app.post('/api/v1/analyses', async (req: Request, res: Response) => {
    if (lifecycle.draining) {
      res.setHeader('Retry-After', '30');
      return void fail(res, 503, 'stopping', 'the service is stopping; retry in a moment');
    }
    let request: AnalysisRequest;
    try {
      request = parseAnalysisRequest(req.body, config);
    } catch (error) {
      return void fail(res, 400, 'invalid-request', (error as Error).message);
    }
    try {
      const { id, state, joined } = await queue.submit(
        request,
        res.locals.passAuthorization as string | undefined,
      );
      log.info(joined ? 'analysis joined' : 'analysis queued', {
        requestId: res.locals.requestId,
        analysisId: id,
        seriesInstanceUid: request.seriesInstanceUid,
      });
      res.setHeader('Location', `/api/v1/analyses/${id}`);
      res.status(202).json({ id, state, joined });
    } catch (error) {
      if (error instanceof QueueFullError) {
        res.setHeader('Retry-After', String(error.retryAfterSeconds));
        return void fail(res, 429, 'queue-full', 'too many analyses queued; retry later');
      }
      throw error;
    }
  });

  // Pass-through: a stored result is shown only to callers whose own credentials the PACS lets
  // read that series (asked once a minute per caller and series).
  const readable = new Map<string, number>();
  const mayRead = async (res: Response, seriesInstanceUid: string): Promise<boolean> => {
    if (config.auth !== 'passthrough') return true;
    const authorization = String(res.locals.passAuthorization);
    const key = createHash('sha256').update(`${authorization}\n${seriesInstanceUid}`).digest('hex');
    if ((readable.get(key) ?? 0) > Date.now()) return true;
    let found: unknown[];
    try {
      found = await new DicomWebClient({
        url: config.pacsUrl,
        auth: authFor(authorization, undefined),
        retries: 0,
        timeoutMs: 10000,
      }).searchForSeries({ SeriesInstanceUID: seriesInstanceUid, limit: '1' });
    } catch (error) {
      if (!(error instanceof PacsAuthError)) throw error;
      fail(res, 401, 'pacs-auth', 'the PACS does not let these credentials read this series');
      return false;
    }
    if (found.length === 0) {
      fail(
        res,
        404,
        'series-not-found',
        `no series ${seriesInstanceUid} visible to these credentials`,
      );
      return false;
    }
    if (readable.size > 10000) readable.clear();
    readable.set(key, Date.now() + 60_000);
    return true;
  };

  const findJob = async (req: Request, res: Response): Promise<JobView | undefined> => {
    const id = String(req.params.id);
    if (!UUID.test(id)) {
      fail(res, 400, 'invalid-id', 'invalid analysis id');
      return undefined;
    }
    const job = await queue.view(id);
    if (!job) fail(res, 404, 'not-found', `no analysis ${id}`);
    const series = (job?.request as AnalysisRequest | undefined)?.seriesInstanceUid;
    if (job && series && !(await mayRead(res, series))) return undefined;
    return job;
  };

  app.get('/api/v1/analyses/:id', async (req, res) => {
    const job = await findJob(req, res);
    if (job) res.json(job);
  });

  app.get('/api/v1/analyses/:id/events', async (req, res) => {
    const job = await findJob(req, res);
    if (!job) return;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.flushHeaders();
    const ended = (j: JobView): boolean => j.state === 'done' || j.state === 'failed';
    const send = (j: JobView): void =>
      void res.write(`event: analysis\ndata: ${JSON.stringify(j)}\n\n`);
    let finished = false;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15000);
    const stop = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    const unsubscribe = queue.watch(job.id, (j) => {
      send(j);
      if (ended(j)) stop();
    });
    req.on('close', stop);
    // The state now (after subscribing, so no change falls between).
    const now = await queue.view(job.id);
    if (now) send(now);
    if (!now || ended(now)) stop();
  });

  app.get('/api/v1/series/:uid/phase', async (req, res) => {
    const uid = String(req.params.uid);
    if (!isUid(uid)) return void fail(res, 400, 'invalid-uid', 'not a valid DICOM UID');
    if (!(await mayRead(res, uid))) return;
    const latest = await queue.latestFor(uid);
    if (latest) {
      const r = latest.result;
      return void res.json({
        seriesInstanceUid: uid,
        phase: r.phase,
        probabilities: r.probabilities,
        model: r.model,
        source: 'service',
        analysisId: latest.id,
      });
    }
    try {
      const client = new DicomWebClient({
        url: config.pacsUrl,
        auth: authFor(res.locals.passAuthorization as string | undefined, config.pacsAuth),
      });
      const stored = await phaseFromPacs(client, uid, {
        name: model.metadata.name,
        version: model.metadata.version,
      });
      // A viewer asking "is there one?" gets 204 rather than an error the browser logs.
      if (!stored && req.query.absent === '204') return void res.status(204).end();
      if (!stored) return void fail(res, 404, 'no-result', `no PhaseLens result for series ${uid}`);
      res.json({
        seriesInstanceUid: uid,
        phase: stored.phase,
        probabilities: stored.probabilities,
        model: stored.model,
        source: 'pacs',
      });
    } catch (error) {
      if (error instanceof PacsError)
        return void fail(res, 502, isErrorCode(error.code) ? error.code : 'pacs', error.message);
      throw error;
    }
  });

  app.use('/api', (_req: Request, res: Response) => void fail(res, 404, 'not-found', 'not found'));

  // Errors: body parser problems are the client's (400); anything else is logged and 500.
  app.use(
    (
      error: Error & { type?: string; status?: number },
      _req: Request,
      res: Response,
      next: NextFunction,
    ) => {
      void next;
      if (error.type === 'entity.too.large')
        return void fail(res, 400, 'body-too-large', `request body over ${config.bodyLimit} bytes`);
      if (error.type === 'charset.unsupported' || error.type === 'encoding.unsupported')
        return void fail(res, 415, 'unsupported-charset', 'the body must be UTF-8 JSON');
      // A path that is not valid percent-encoding fails in the router, before any body is read.
      if (error instanceof URIError)
        return void fail(res, 400, 'invalid-path', 'the path is not valid percent-encoding');
      if (error.type === 'entity.parse.failed' || error.status === 400)
        return void fail(res, 400, 'invalid-json', 'the body is not valid JSON');
      log.error('unexpected failure', { requestId: res.locals.requestId, error: error.message });
      fail(res, 500, 'internal', 'internal error');
    },
  );
  return app;
}
