import type { Server } from 'node:http';
import { selectBackend } from '../model/inference/backend';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/inference/phase-model';
import { analysisProcessesFor } from './analysis-processes';
import { createApp } from './app';
import type { ServiceConfig } from './config';
import { JobQueue, type AnalysisQueue } from './jobs';
import { RedisJobQueue } from './redis-queue';
import { jsonLogger, type Logger } from './log';

export interface RunningService {
  url: string;
  queue: AnalysisQueue;
  /** Stops taking analyses (503 with Retry-After) and reports not ready; running ones go on. */
  drain(): void;
  close(): Promise<void>;
}

/** Loads the model, starts the queue and the HTTP server; resolves once listening. */
export async function startService(
  config: ServiceConfig,
  log: Logger = jsonLogger(),
): Promise<RunningService> {
  const backend = await selectBackend(() => undefined);
  const modelDir = config.modelDir ?? DEFAULT_MODEL_DIR;
  const model = await loadPhaseModel(modelDir);
  // Analyses run in their own warm processes: the HTTP side answers while they compute, and
  // an analysis that crashes or runs out of memory fails only its own job.
  const processes = config.redisUrl
    ? undefined
    : analysisProcessesFor(config, modelDir, config.concurrency);
  try {
    await processes?.warm();
  } catch (error) {
    await processes?.close();
    throw error;
  }
  const queue: AnalysisQueue = config.redisUrl
    ? new RedisJobQueue(config.redisUrl, {
        size: config.queueSize,
        jobKey: config.jobKey,
        modelVersion: model.metadata.version,
      })
    : new JobQueue(processes!.run, {
        concurrency: config.concurrency,
        size: config.queueSize,
        modelVersion: model.metadata.version,
      });
  const lifecycle = { draining: false };
  const app = createApp({ config, model, queue, log, lifecycle });
  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.on('error', reject);
    });
  } catch (error) {
    // The port is taken (say): no analysis process outlives the failed start.
    await processes?.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  log.info('service started', {
    url,
    backend,
    model: `${model.metadata.name} ${model.metadata.version}`,
    pacs: config.pacsUrl,
    auth: config.auth,
    writeBack: config.writeBack,
    concurrency: config.concurrency,
    queue: config.redisUrl ? 'redis' : 'in-process',
  });
  for (const warning of config.warnings) log.warn('configuration', { warning });
  return {
    url,
    queue,
    drain: () => {
      lifecycle.draining = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(
          () =>
            void (config.redisUrl ? queue.close() : Promise.resolve())
              .then(() => processes?.close())
              .then(() => resolve()),
        );
      }),
  };
}
