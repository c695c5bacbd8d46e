import { workerUsage } from './usages';
import os from 'node:os';
import { selectBackend } from '../model/inference/backend';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/inference/phase-model';
import { analysisProcessesFor } from '../service/analysis-processes';
import { loadConfig } from '../service/config';
import { jsonLogger } from '../service/log';
import { startWorker } from '../service/redis-queue';
import { parseArgs, UsageError } from './args';

/** Runs analyses from the Redis queue until SIGINT or SIGTERM (the current ones finish first). */
export async function worker(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: [] });
  if (args.positional.length) throw new UsageError(`usage: ${workerUsage}`);
  const config = loadConfig({
    ...process.env,
    PHASELENS_AUTH: 'none',
    PHASELENS_ALLOW_NO_AUTH: 'true',
    PHASELENS_HOST: '127.0.0.1',
  });
  if (!config.redisUrl) throw new UsageError('REDIS_URL is required (redis://host:port)');
  await selectBackend(() => undefined);
  const modelDir = config.modelDir ?? DEFAULT_MODEL_DIR;
  await loadPhaseModel(modelDir); // a model that cannot load stops the worker at start
  // Analyses in their own processes: a crash fails that job (BullMQ may retry it), not the worker.
  const processes = analysisProcessesFor(config, modelDir, config.concurrency);
  await processes.warm();
  const log = jsonLogger();
  for (const warning of config.warnings) log.warn('configuration', { warning });
  const name = `${os.hostname()}-${process.pid}`;
  const lock = Number(process.env.PHASELENS_WORKER_LOCK_MS ?? 30000);
  const w = startWorker(config.redisUrl, processes.run, {
    concurrency: config.concurrency,
    name,
    jobKey: config.jobKey,
    lockDurationMs: lock,
    stalledIntervalMs: Math.max(500, Math.floor(lock / 3)),
  });
  w.on('completed', (job) => log.info('analysis done', { analysisId: job.id, worker: name }));
  w.on('failed', (job, error) =>
    log.warn('analysis failed', { analysisId: job?.id, worker: name, error: error.message }),
  );
  w.on('active', (job) => log.info('analysis started', { analysisId: job.id, worker: name }));
  await w.waitUntilReady();
  out.write(`PhaseLens worker ${name} taking analyses from the Redis queue\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await w.close();
  await processes.close();
  return 0;
}
