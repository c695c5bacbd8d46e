/**
 * The analysis process: loads the model once, then runs the analyses its parent sends, one at
 * a time, and reports progress, the result or a typed error. It exits with its parent.
 */
import { describeError, errorRecord } from '../errors';
import { selectBackend } from '../model/inference/backend';
import { warmUp } from '../model/inference/classify';
import { loadPhaseModel } from '../model/inference/phase-model';
import { analysisRunner } from './analysis';
import type { ChildMessage, ParentMessage } from './analysis-messages';
import type { Job, RunAnalysis } from './jobs';
import { EventEmitter } from 'node:events';

function send(message: ChildMessage, then?: () => void): void {
  process.send?.(message, undefined, undefined, () => then?.());
}

let run: RunAnalysis | undefined;

// The parent decides when this process ends (it closes the channel): a SIGINT or SIGTERM sent to
// the whole process group (Ctrl-C, systemd) must not cut short an analysis the service drains.
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('message', (message: ParentMessage) => {
  void handle(message);
});

async function handle(message: ParentMessage): Promise<void> {
  if (message.kind === 'init') {
    try {
      await selectBackend(() => undefined);
      const model = await loadPhaseModel(message.modelDir);
      await warmUp(model);
      run = analysisRunner(model, message.pacsUrl, message.pacsAuth, {
        output: message.output,
        memoryMb: message.memoryMb,
        scratch: message.scratch,
      });
      send({ kind: 'ready' });
    } catch (error) {
      // Gone once the parent has the reason, so that it starts another after a pause.
      send({ kind: 'init-failed', message: describeError(error) }, () => process.exit(1));
    }
    return;
  }
  if (!run) {
    send({
      kind: 'failed',
      id: message.id,
      error: { code: 'internal', message: 'the analysis process is not ready', exitCode: 1 },
    });
    return;
  }
  const job = {
    id: message.id,
    request: message.request,
    authorization: message.authorization,
    events: new EventEmitter(),
  } as Job;
  try {
    const result = await run(job, (progress) =>
      send({ kind: 'progress', id: message.id, progress }),
    );
    send({ kind: 'done', id: message.id, result });
  } catch (error) {
    send({ kind: 'failed', id: message.id, error: errorRecord(error) });
  }
}
