/** What the service and its analysis processes say to each other over IPC. */
import type { ErrorRecord } from '../errors';
import type { PacsAuth } from '../dicomweb/client';
import type { OutputSettings } from '../derived/output-settings';
import type { AnalysisRequest, AnalysisResult, JobProgress } from './jobs';
import type { ScratchSettings } from '../util/planes';

export type ParentMessage =
  | {
      kind: 'init';
      modelDir: string;
      pacsUrl: string;
      pacsAuth?: PacsAuth;
      output: OutputSettings;
      /** The memory an analysis may use (checked from the headers before reading pixels). */
      memoryMb: number;
      scratch: ScratchSettings;
    }
  | { kind: 'run'; id: string; request: AnalysisRequest; authorization?: string };

export type ChildMessage =
  | { kind: 'ready' }
  | { kind: 'init-failed'; message: string }
  | { kind: 'progress'; id: string; progress: JobProgress }
  | { kind: 'done'; id: string; result: AnalysisResult }
  | { kind: 'failed'; id: string; error: ErrorRecord };
