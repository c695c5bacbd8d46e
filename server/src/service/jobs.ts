import { PhaseLensError } from '../errors';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Phase } from '../domain/phase';

export interface AnalysisRequest {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  maps: string[];
  writeBack: boolean;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobProgress {
  stage: 'queued' | 'reading' | 'classifying' | 'maps' | 'writing' | 'done' | 'failed';
  /** 0 to 1 over the whole analysis. */
  fraction: number;
}

export interface AnalysisResult {
  /** A phase, or `indeterminate` (see `reason`). */
  phase: Phase | 'indeterminate';
  /** The most probable phase, also when the call is indeterminate. */
  leading?: Phase;
  confidence: number;
  reason?: string;
  warnings?: string[];
  probabilities: Record<Phase, number>;
  slices: { index: number; probabilities: Record<Phase, number> }[];
  model: { name: string; version: string };
  derivedSeries: {
    phaseReport?: string;
    secondaryCaptures: Record<string, string>;
    parametricMaps: Record<string, string>;
  };
}

export interface Job {
  id: string;
  key: string;
  request: AnalysisRequest;
  state: JobState;
  progress: JobProgress;
  result?: AnalysisResult;
  error?: string;
  /** The failure's kind (PhaseLensError codes: pacs-auth, out-of-scope, invalid-input, ...). */
  errorCode?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** 'update' events carry the job; 'end' when done or failed. */
  events: EventEmitter;
  /** The viewer's Authorization header in pass-through mode; never serialised or logged. */
  authorization?: string;
}

/** Same series, model, maps, write-back and credentials: the same analysis. */
export function analysisKey(
  request: AnalysisRequest,
  modelVersion: string,
  authorization?: string,
): string {
  return [
    request.seriesInstanceUid,
    modelVersion,
    [...request.maps].sort().join(','),
    request.writeBack,
    authorization ?? '',
  ].join('|');
}

export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the analysis queue is full');
  }
}

export type RunAnalysis = (job: Job, report: (p: JobProgress) => void) => Promise<AnalysisResult>;

/** What the API returns for an analysis (no credentials, no emitter). */
export type JobView = Record<string, unknown> & { id: string; state: JobState };

/**
 * The queue as the HTTP service sees it: in-process (JobQueue) or in Redis shared by worker
 * processes (RedisJobQueue).
 */
export interface AnalysisQueue {
  submit(
    request: AnalysisRequest,
    authorization?: string,
  ): Promise<{ id: string; state: JobState; joined: boolean }>;
  view(id: string): Promise<JobView | undefined>;
  /** Calls `listener` on every change of the analysis until it ends; returns an unsubscribe. */
  watch(id: string, listener: (view: JobView) => void): () => void;
  latestFor(seriesInstanceUid: string): Promise<{ id: string; result: AnalysisResult } | undefined>;
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Finished jobs the in-process queue keeps for GET /analyses/{id}; older ones are forgotten. */
export const RETAINED_JOBS = 1000;

/**
 * The in-process job queue: bounded concurrency and size, and a request for a series already
 * queued or running with the same options (and credentials) joins that job instead of adding one.
 */
export class JobQueue implements AnalysisQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting: Job[] = [];
  private running = 0;

  constructor(
    private readonly run: RunAnalysis,
    private readonly options: { concurrency: number; size: number; modelVersion: string },
  ) {}

  async submit(
    request: AnalysisRequest,
    authorization?: string,
  ): Promise<{ id: string; state: JobState; joined: boolean }> {
    const { job, joined } = this.enqueue(request, authorization);
    return { id: job.id, state: job.state, joined };
  }

  async view(id: string): Promise<JobView | undefined> {
    const job = this.jobs.get(id);
    return job ? jobView(job) : undefined;
  }

  watch(id: string, listener: (view: JobView) => void): () => void {
    const job = this.jobs.get(id);
    if (!job) return () => undefined;
    const onUpdate = (j: Job): void => listener(jobView(j));
    job.events.on('update', onUpdate);
    return () => job.events.off('update', onUpdate);
  }

  async latestFor(
    seriesInstanceUid: string,
  ): Promise<{ id: string; result: AnalysisResult } | undefined> {
    const job = this.latestJob(seriesInstanceUid);
    return job?.result ? { id: job.id, result: job.result } : undefined;
  }

  async close(): Promise<void> {
    await this.idle();
  }

  /** The job for a request: an existing live one with the same key, or a new one. */
  enqueue(request: AnalysisRequest, authorization?: string): { job: Job; joined: boolean } {
    const key = analysisKey(request, this.options.modelVersion, authorization);
    for (const job of this.jobs.values())
      if (job.key === key && (job.state === 'queued' || job.state === 'running'))
        return { job, joined: true };
    if (this.waiting.length >= this.options.size)
      throw new QueueFullError(
        Math.max(1, Math.ceil(this.waiting.length / this.options.concurrency) * 5),
      );
    const job: Job = {
      id: randomUUID(),
      key,
      request,
      state: 'queued',
      progress: { stage: 'queued', fraction: 0 },
      createdAt: new Date().toISOString(),
      events: new EventEmitter(),
      authorization,
    };
    job.events.setMaxListeners(0);
    this.jobs.set(job.id, job);
    this.waiting.push(job);
    this.pump();
    return { job, joined: false };
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** The newest finished job for a series, if this process has one. */
  latestJob(seriesInstanceUid: string): Job | undefined {
    let latest: Job | undefined;
    for (const job of this.jobs.values())
      if (job.request.seriesInstanceUid === seriesInstanceUid && job.state === 'done')
        if (!latest || (job.finishedAt ?? '') > (latest.finishedAt ?? '')) latest = job;
    return latest;
  }

  get depth(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running };
  }

  /** Resolves when nothing is queued or running (for a graceful stop). */
  async idle(): Promise<void> {
    while (this.running > 0 || this.waiting.length > 0) await new Promise((r) => setTimeout(r, 50));
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift() as Job;
      this.running++;
      void this.execute(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async execute(job: Job): Promise<void> {
    job.state = 'running';
    job.startedAt = new Date().toISOString();
    const report = (p: JobProgress): void => {
      job.progress = p;
      job.events.emit('update', job);
    };
    report({ stage: 'reading', fraction: 0 });
    try {
      job.result = await this.run(job, report);
      job.state = 'done';
      job.progress = { stage: 'done', fraction: 1 };
    } catch (error) {
      job.state = 'failed';
      job.error = (error as Error).message;
      job.errorCode = error instanceof PhaseLensError ? error.code : 'internal';
      job.progress = { stage: 'failed', fraction: job.progress.fraction };
    }
    job.finishedAt = new Date().toISOString();
    job.authorization = undefined;
    job.events.emit('update', job);
    job.events.emit('end', job);
    this.forgetOldJobs();
  }

  /** Finished jobs beyond the newest RETAINED_JOBS are forgotten (a stored phase stays in the PACS). */
  private forgetOldJobs(): void {
    const finished = [...this.jobs.values()].filter(
      (j) => j.state === 'done' || j.state === 'failed',
    );
    const excess = finished.length - RETAINED_JOBS;
    if (excess <= 0) return;
    finished
      .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''))
      .slice(0, excess)
      .forEach((j) => this.jobs.delete(j.id));
  }
}

/** The public view of a job (what the API returns): no credentials, no emitter. */
export function jobView(job: Job): JobView {
  return {
    id: job.id,
    state: job.state,
    progress: job.progress,
    request: job.request,
    createdAt: job.createdAt,
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.result ? { result: job.result } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.errorCode ? { errorCode: job.errorCode } : {}),
  };
}
