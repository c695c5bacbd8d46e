/**
 * Analyses in their own processes. The HTTP service (and the watchers) stay responsive while
 * an analysis uses a core, and an analysis that runs out of memory or crashes in native code
 * fails its own job and nothing else: its process is replaced and the next job goes on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PacsAuth } from '../dicomweb/client';
import type { PixelFormat } from '../derived/parametric-map';
import { AnalysisCrashedError, PhaseLensError, reviveError } from '../errors';
import type { ChildMessage, ParentMessage } from './analysis-messages';
import type { ServiceConfig } from './config';
import type { AnalysisResult, Job, JobProgress, RunAnalysis } from './jobs';

export interface AnalysisProcessOptions {
  modelDir: string;
  pacsUrl: string;
  pacsAuth?: PacsAuth;
  mapFormat?: PixelFormat;
  /** Processes kept warm; each runs one analysis at a time. */
  processes: number;
  /** Heap limit of each process (MB). */
  memoryMb: number;
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

  constructor(options: AnalysisProcessOptions, onExit: (p: AnalysisProcess) => void) {
    const entry = childEntry();
    this.child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${options.memoryMb}`],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.on('message', (m: ChildMessage) => {
        if (m.kind === 'ready') resolve();
        else if (m.kind === 'init-failed')
          reject(new AnalysisCrashedError(`the analysis process could not start: ${m.message}`));
        else this.answer(m);
      });
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(new AnalysisCrashedError(`the analysis process stopped while starting (${why})`));
        const job = this.running;
        this.running = undefined;
        job?.reject(
          new AnalysisCrashedError(
            `the analysis stopped before it finished (${why}): the series may need more memory than PHASELENS_ANALYSIS_MEMORY_MB allows, or its data crashed a decoder`,
          ),
        );
        onExit(this);
      });
    });
    // A process that never became ready is reported to the job that waits for it, not here.
    this.ready.catch(() => undefined);
    const init: ParentMessage = {
      kind: 'init',
      modelDir: options.modelDir,
      pacsUrl: options.pacsUrl,
      pacsAuth: options.pacsAuth,
      mapFormat: options.mapFormat,
      memoryMb: options.memoryMb,
    };
    this.child.send(init);
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
      this.running = { id: job.id, report, resolve, reject };
      const message: ParentMessage = {
        kind: 'run',
        id: job.id,
        request: job.request,
        authorization: job.authorization,
      };
      this.child.send(message);
    });
  }
}

/** A fixed set of warm analysis processes behind a RunAnalysis. */
export class AnalysisProcesses {
  private readonly idle: AnalysisProcess[] = [];
  private readonly waiting: ((p: AnalysisProcess) => void)[] = [];
  private readonly all = new Set<AnalysisProcess>();
  private closed = false;

  constructor(private readonly options: AnalysisProcessOptions) {
    for (let i = 0; i < options.processes; i++) this.idle.push(this.start());
  }

  private start(): AnalysisProcess {
    const p = new AnalysisProcess(this.options, (gone) => this.replace(gone));
    this.all.add(p);
    return p;
  }

  private replace(gone: AnalysisProcess): void {
    this.all.delete(gone);
    const at = this.idle.indexOf(gone);
    if (at >= 0) this.idle.splice(at, 1);
    if (!this.closed) this.release(this.start());
  }

  private release(p: AnalysisProcess): void {
    const next = this.waiting.shift();
    if (next) next(p);
    else this.idle.push(p);
  }

  /** Resolves once every process has loaded the model (the service is warm). */
  async warm(): Promise<void> {
    await Promise.all([...this.all].map((p) => p.ready));
  }

  readonly run: RunAnalysis = async (job, report) => {
    if (this.closed) throw new AnalysisCrashedError('the analysis processes are shut down');
    const p =
      this.idle.shift() ?? (await new Promise<AnalysisProcess>((r) => this.waiting.push(r)));
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

  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.all].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exited) return resolve();
          p.child.once('exit', () => resolve());
          p.child.kill();
        }),
    );
    await Promise.all(exits);
  }
}

/** The analysis processes a service, watcher or worker runs, from its configuration. */
export function analysisProcessesFor(
  config: Pick<ServiceConfig, 'pacsUrl' | 'pacsAuth' | 'mapFormat' | 'analysisMemoryMb'>,
  modelDir: string,
  processes: number,
): AnalysisProcesses {
  return new AnalysisProcesses({
    modelDir,
    pacsUrl: config.pacsUrl,
    pacsAuth: config.pacsAuth,
    mapFormat: config.mapFormat,
    processes,
    memoryMb: config.analysisMemoryMb,
  });
}
