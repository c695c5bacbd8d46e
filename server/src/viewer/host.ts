import express, { type Express, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { NotFoundError } from '../errors';
import { viewerAppConfig, type ViewerConfigOptions } from './app-config';

export interface ViewerHostOptions {
  /** The prebuilt OHIF viewer (`dist/` of `npm pack @ohif/app@3.13.2`). */
  ohifDir: string;
  /** The folder holding extension.mjs (extension/dist). */
  extensionDir: string;
  /** DICOMweb root of the PACS, proxied at /dicom-web. */
  pacsUrl: string;
  /** Authorization header the proxy adds towards the PACS (the browser never sees it). */
  pacsAuthorization?: string;
  /** PhaseLens service root, proxied at /phaselens/api when given (same origin). */
  serviceUrl?: string;
  serviceAuthorization?: string;
  /** Overrides for the generated app-config.js (e.g. a cross-origin service URL). */
  config?: ViewerConfigOptions;
}

/** Streams a request on to `target` + the rest of the path, adding an Authorization header. */
function proxyTo(target: string, authorization?: string) {
  const base = new URL(target.endsWith('/') ? target : `${target}/`);
  return (req: Request, res: Response) => {
    const url = new URL(req.url.replace(/^\/+/, ''), base);
    const headers = { ...req.headers, host: url.host };
    delete headers.authorization;
    if (authorization) headers.authorization = authorization;
    const lib = url.protocol === 'https:' ? https : http;
    const upstream = lib.request(url, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.status(502).json({ error: 'upstream unreachable' });
      else res.destroy();
    });
    req.pipe(upstream);
  };
}

/**
 * The OHIF viewer with PhaseLens on one origin: the static viewer (SPA fallback, wasm typed),
 * a generated app-config.js, the extension module, and proxies to the PACS and the service.
 * The same layout as viewer/nginx.conf in the compose deployment.
 */
export function createViewerHost(options: ViewerHostOptions): Express {
  const index = path.resolve(options.ohifDir, 'index.html');
  if (!existsSync(index))
    throw new NotFoundError(
      `no OHIF viewer in ${options.ohifDir}: run scripts/fetch-ohif.sh (npm pack @ohif/app@3.13.2)`,
    );
  if (!existsSync(path.join(options.extensionDir, 'extension.mjs')))
    throw new NotFoundError(
      `no extension.mjs in ${options.extensionDir}: run npm run build -w extension`,
    );
  const app = express();
  app.disable('x-powered-by');
  const appConfig = viewerAppConfig(options.config);
  app.get('/app-config.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-store').send(appConfig);
  });
  app.use('/dicom-web', proxyTo(options.pacsUrl, options.pacsAuthorization));
  if (options.serviceUrl)
    app.use('/phaselens/api', proxyTo(`${options.serviceUrl}/api`, options.serviceAuthorization));
  app.use(
    '/phaselens',
    express.static(options.extensionDir, {
      setHeaders: (res) => res.set('Cache-Control', 'no-cache'),
    }),
  );
  app.use(
    express.static(options.ohifDir, {
      setHeaders: (res, file) => {
        if (file.endsWith('.wasm')) res.type('application/wasm');
      },
    }),
  );
  // Single-page app: every other GET is the viewer's index.
  app.use((req, res, next) => {
    if (req.method !== 'GET') return next();
    res.sendFile(index);
  });
  return app;
}
