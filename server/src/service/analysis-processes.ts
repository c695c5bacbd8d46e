/**
 * Analyses in their own processes. The HTTP service (and the watchers) stay responsive while
 * an analysis uses a core, and an analysis that runs out of memory or crashes in native code
 * fails its own job and nothing else: its process is replaced and the next job goes on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PacsAuth } from '../dicomweb/client';
import type { OutputSettings } from '../derived/output-settings';
import { AnalysisCrashedError, PhaseLensError, reviveError } from '../errors';
import type { ChildMessage, ParentMessage } from './analysis-messages';
import type { ServiceConfig } from './config';
import type { ScratchSettings } from '../util/planes';
import type { AnalysisResult, Job, JobProgress, RunAnalysis } from './jobs';

export interface AnalysisProcessOptions {
  modelDir: string;
  pacsUrl: string;
  pacsAuth?: PacsAuth;
  output: OutputSettings;
  /** Processes kept warm; each runs one analysis at a time. */
  processes: number;
  /** Heap limit of each process (MB). */
  memoryMb: number;
  scratch: ScratchSettings;
}

interface Running {
  id: string;
  report: (p: JobProgress) => void;
  resolve: (r: AnalysisResult) => void;
  reject: (e: Error) => void;
}

/** Where the child's entry is: compiled JavaScript, or TypeScript under tsx (tests, tsx runs). */
function childEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'analysis-child.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  return {
    file: path.join(__dirname, 'analysis-child.ts'),
    execArgv: ['--require', require.resolve('tsx/cjs')],
  };
}

class AnalysisProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  running?: Running;
  exited = false;
  /** Whether it ever loaded the model (a process that dies before has a start problem). */
  wasReady = false;
  /** Why the process is going away when the pool stops it (else: it died on its own). */
  stopping?: string;

  constructor(options: AnalysisProcessOptions, onExit: (p: AnalysisProcess) => void) {
    const entry = childEntry();
    this.child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${options.memoryMb}`],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let startFailed: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      startFailed = reject;
      this.child.on('message', (m: ChildMessage) => {
        if (m.kind === 'ready') {
          this.wasReady = true;
          resolve();
        } else if (m.kind === 'init-failed') {
          reject(new AnalysisCrashedError(`the analysis process could not start: ${m.message}`));
          // It cannot analyse: gone, so that the pool starts another (after a pause).
          this.child.kill('SIGKILL');
        } else this.answer(m);
      });
    });
    // A process that never became ready is reported to the job that waits for it, not here.
    this.ready.catch(() => undefined);
    let gone = false;
    const end = (why: string): void => {
      if (gone) return;
      gone = true;
      this.exited = true;
      startFailed(new AnalysisCrashedError(`the analysis process stopped while starting (${why})`));
      const job = this.running;
      this.running = undefined;
      job?.reject(
        new AnalysisCrashedError(
          this.stopping
            ? `the analysis was stopped: ${this.stopping}`
            : `the analysis stopped before it finished (${why}): the series may need more memory than this machine gives it, or its data crashed a decoder`,
        ),
      );
      onExit(this);
    };
    this.child.on('exit', (code, signal) => end(signal ? `signal ${signal}` : `exit code ${code}`));
    // A fork that fails, or a send on a channel that closed as the process died: never thrown
    // at the service, always an end of this process.
    this.child.on('error', (error) => end(error.message));
    this.send({
      kind: 'init',
      modelDir: options.modelDir,
      pacsUrl: options.pacsUrl,
      pacsAuth: options.pacsAuth,
      output: options.output,
      memoryMb: options.memoryMb,
      scratch: options.scratch,
    });
  }

  private send(message: ParentMessage): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(message, (error) => {
      if (error) this.child.kill('SIGKILL');
    });
  }

  private answer(m: Exclude<ChildMessage, { kind: 'ready' | 'init-failed' }>): void {
    const job = this.running;
    if (!job || job.id !== m.id) return;
    if (m.kind === 'progress') {
      job.report(m.progress);
      return;
    }
    this.running = undefined;
    if (m.kind === 'done') job.resolve(m.result);
    else job.reject(reviveError(m.error));
  }

  run(job: Job, report: (p: JobProgress) => void): Promise<AnalysisResult> {
    return new Promise<AnalysisResult>((resolve, reject) => {
      if (this.exited || !this.child.connected) {
        reject(new AnalysisCrashedError('the analysis process had stopped; try again'));
        return;
      }
      this.running = { id: job.id, report, resolve, reject };
      this.send({
        kind: 'run',
        id: job.id,
        request: job.request,
        authorization: job.authorization,
      });
    });
  }

  /** Asks the process to go (it exits when its channel closes), then kills it after `graceMs`. */
  stop(reason: string, graceMs = 2000): Promise<void> {
    this.stopping = reason;
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.child.connected) this.child.disconnect();
      else this.child.kill('SIGKILL');
    });
  }
}

/** A fixed set of warm analysis processes behind a RunAnalysis. */
export class AnalysisProcesses {
  private readonly idle: AnalysisProcess[] = [];
  private readonly waiting: {
    take: (p: AnalysisProcess) => void;
    refuse: (e: Error) => void;
  }[] = [];
  private readonly all = new Set<AnalysisProcess>();
  private closed = false;
  /** Restarts in a row that died before they were ready: each waits longer (up to 30 s). */
  private failedStarts = 0;

  constructor(private readonly options: AnalysisProcessOptions) {
    for (let i = 0; i < options.processes; i++) this.idle.push(this.start());
  }

  private start(): AnalysisProcess {
    const p = new AnalysisProcess(this.options, (gone) => this.replace(gone));
    this.all.add(p);
    p.ready.then(
      () => (this.failedStarts = 0),
      () => undefined,
    );
    return p;
  }

  private replace(gone: AnalysisProcess): void {
    this.all.delete(gone);
    const at = this.idle.indexOf(gone);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.closed) return;
    // A process that never got ready may fail again at once (a model folder being replaced, no
    // memory): restart after a pause that grows, not in a tight loop.
    const pause = gone.wasReady ? 0 : Math.min(30000, 500 * 2 ** this.failedStarts++);
    setTimeout(() => {
      if (this.closed) return;
      try {
        this.release(this.start());
      } catch {
        // fork itself threw (ENOMEM): try again later.
        setTimeout(() => this.replace(gone), 5000).unref();
      }
    }, pause).unref();
  }

  private release(p: AnalysisProcess): void {
    const next = this.waiting.shift();
    if (next) next.take(p);
    else this.idle.push(p);
  }

  /** Resolves once every process has loaded the model (the service is warm). */
  async warm(): Promise<void> {
    await Promise.all([...this.all].map((p) => p.ready));
  }

  readonly run: RunAnalysis = async (job, report) => {
    if (this.closed) throw new AnalysisCrashedError('the analysis processes are shut down');
    const p =
      this.idle.shift() ??
      (await new Promise<AnalysisProcess>((take, refuse) => this.waiting.push({ take, refuse })));
    try {
      await p.ready;
      return await p.run(job, report);
    } catch (error) {
      if (error instanceof PhaseLensError) throw error;
      throw new AnalysisCrashedError(String(error));
    } finally {
      if (!p.exited) this.release(p);
    }
  };

  /** Stops every process (running analyses fail as stopped) and refuses whoever still waits. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0))
      w.refuse(new AnalysisCrashedError('the analysis processes are shut down'));
    await Promise.all([...this.all].map((p) => p.stop('the service is shutting down')));
  }
}

/** The analysis processes a service, watcher or worker runs, from its configuration. */
export function analysisProcessesFor(
  config: Pick<ServiceConfig, 'pacsUrl' | 'pacsAuth' | 'output' | 'analysisMemoryMb' | 'scratch'>,
  modelDir: string,
  processes: number,
): AnalysisProcesses {
  return new AnalysisProcesses({
    modelDir,
    pacsUrl: config.pacsUrl,
    pacsAuth: config.pacsAuth,
    output: config.output,
    processes,
    memoryMb: config.analysisMemoryMb,
    scratch: config.scratch,
  });
}
