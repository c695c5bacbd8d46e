import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors';
import { isSealed, JobKeyError, seal, unseal } from './sealed';
import { Job as BullJob, Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import {
  analysisKey,
  QueueFullError,
  type AnalysisQueue,
  type AnalysisRequest,
  type AnalysisResult,
  type Job,
  type JobProgress,
  type JobState,
  type JobView,
  type RunAnalysis,
} from './jobs';

export const QUEUE_NAME = 'phaselens-analyses';

interface JobData {
  request: AnalysisRequest;
  createdAt: string;
  /**
   * The viewer's Authorization header in pass-through mode, sealed with PHASELENS_JOB_KEY;
   * dropped when a worker starts.
   */
  authorization?: string;
}

/** Redis connection options from a redis:// URL. */
export function connectionFrom(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    maxRetriesPerRequest: null,
  };
}

/** A UUID-shaped id from the analysis key: the same analysis maps to the same BullMQ job. */
function jobIdFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function stateOf(bull: string): JobState {
  if (bull === 'completed') return 'done';
  if (bull === 'failed') return 'failed';
  if (bull === 'active') return 'running';
  return 'queued';
}

async function viewOf(job: BullJob<JobData, AnalysisResult>): Promise<JobView> {
  const state = stateOf(await job.getState());
  const progress =
    typeof job.progress === 'object' && job.progress !== null
      ? (job.progress as unknown as JobProgress)
      : { stage: 'queued' as const, fraction: 0 };
  return {
    id: String(job.id),
    state,
    progress:
      state === 'done'
        ? { stage: 'done', fraction: 1 }
        : state === 'failed'
          ? { stage: 'failed', fraction: progress.fraction }
          : progress,
    request: job.data.request,
    createdAt: job.data.createdAt,
    ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
    ...(job.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
    ...(state === 'done' && job.returnvalue ? { result: job.returnvalue } : {}),
    ...(state === 'failed' ? { error: job.failedReason } : {}),
  };
}

/**
 * The analysis queue in Redis (BullMQ): the service submits, `phaselens worker` processes run the
 * analyses on as many machines as needed. A job whose worker dies is stalled, and another worker
 * takes it over once its lock expires.
 */
export class RedisJobQueue implements AnalysisQueue {
  private readonly queue: Queue<JobData, AnalysisResult>;
  private readonly events: QueueEvents;
  private readonly ready: Promise<unknown>;

  constructor(
    redisUrl: string,
    private readonly options: { size: number; modelVersion: string; jobKey?: Buffer },
  ) {
    const connection = connectionFrom(redisUrl);
    this.queue = new Queue<JobData, AnalysisResult>(QUEUE_NAME, { connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection });
    this.events.setMaxListeners(0);
    this.ready = this.events.waitUntilReady();
  }

  async submit(
    request: AnalysisRequest,
    authorization?: string,
  ): Promise<{ id: string; state: JobState; joined: boolean }> {
    const id = jobIdFor(analysisKey(request, this.options.modelVersion, authorization));
    const existing = await this.queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes(state))
        return { id, state: stateOf(state), joined: true };
      await existing.remove();
    }
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized');
    const waiting = (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0);
    if (waiting >= this.options.size) throw new QueueFullError(Math.max(1, waiting * 5));
    if (authorization && !this.options.jobKey)
      throw new InvalidInputError(
        "pass-through analyses through Redis need PHASELENS_JOB_KEY: the viewer's credentials are never queued in clear",
      );
    await this.queue.add(
      'analysis',
      {
        request,
        createdAt: new Date().toISOString(),
        ...(authorization && this.options.jobKey
          ? { authorization: seal(authorization, this.options.jobKey, id) }
          : {}),
      },
      { jobId: id, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
    );
    return { id, state: 'queued', joined: false };
  }

  async view(id: string): Promise<JobView | undefined> {
    const job = await this.queue.getJob(id);
    return job ? viewOf(job) : undefined;
  }

  watch(id: string, listener: (view: JobView) => void): () => void {
    let closed = false;
    const refresh = ({ jobId }: { jobId: string }): void => {
      if (jobId !== id || closed) return;
      void this.view(id).then((v) => v && !closed && listener(v));
    };
    const names = ['active', 'progress', 'completed', 'failed'] as const;
    for (const n of names) this.events.on(n, refresh);
    return () => {
      closed = true;
      for (const n of names) this.events.off(n, refresh);
    };
  }

  async latestFor(
    seriesInstanceUid: string,
  ): Promise<{ id: string; result: AnalysisResult } | undefined> {
    const done = await this.queue.getJobs(['completed'], 0, 200);
    const mine = done
      .filter((j) => j.data.request.seriesInstanceUid === seriesInstanceUid && j.returnvalue)
      .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0));
    return mine[0] ? { id: String(mine[0].id), result: mine[0].returnvalue } : undefined;
  }

  async idle(): Promise<void> {
    await this.ready;
    for (;;) {
      const c = await this.queue.getJobCounts('waiting', 'active', 'delayed');
      if (!c.waiting && !c.active && !c.delayed) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

/**
 * A worker process's loop: takes analyses from Redis and runs them. The lock is renewed while
 * the analysis runs; if the process dies, the job stalls and another worker takes it over.
 */
export function startWorker(
  redisUrl: string,
  run: RunAnalysis,
  options: {
    concurrency: number;
    name: string;
    /** Opens the viewer's sealed credentials (the service's PHASELENS_JOB_KEY). */
    jobKey?: Buffer;
    lockDurationMs?: number;
    stalledIntervalMs?: number;
  },
): Worker<JobData, AnalysisResult> {
  return new Worker<JobData, AnalysisResult>(
    QUEUE_NAME,
    async (bull) => {
      // Opened before it is dropped from Redis, so a worker without the key fails the job
      // without destroying what another worker could use. A value that is not sealed (queued in
      // clear by an older version, or written by someone else) is refused: never run as the
      // service's own account in place of the viewer's.
      const sealed = bull.data.authorization;
      if (sealed !== undefined && !isSealed(sealed))
        throw new JobKeyError(
          "this analysis carries the viewer's credentials unsealed (queued by an older PhaseLens): submit it again",
        );
      const authorization = sealed ? unseal(sealed, options.jobKey, String(bull.id)) : undefined;
      if (sealed) await bull.updateData({ ...bull.data, authorization: undefined });
      const job = {
        id: String(bull.id),
        request: bull.data.request,
        authorization,
      } as Job;
      return run(job, (p) => void bull.updateProgress(p as unknown as object));
    },
    {
      connection: connectionFrom(redisUrl),
      concurrency: options.concurrency,
      name: options.name,
      lockDuration: options.lockDurationMs ?? 30000,
      stalledInterval: options.stalledIntervalMs ?? 30000,
      maxStalledCount: 3,
    },
  );
}
