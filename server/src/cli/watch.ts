import { watchUsage } from './usages';
import { selectBackend } from '../model/inference/backend';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/inference/phase-model';
import { loadConfig } from '../service/config';
import { jsonLogger } from '../service/log';
import { analysisProcessesFor } from '../service/analysis-processes';
import { watchQido } from '../service/qido-watcher';
import { watchOrthanc } from '../service/watcher';
import { parseArgs, stringFlag, UsageError } from './args';

/** Tags the phase of every new CT series in Orthanc, until SIGINT or SIGTERM. */
export async function watch(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: ['cursor', 'state', 'days'], booleans: ['qido'] });
  if (args.positional.length) throw new UsageError(`usage: ${watchUsage}`);
  // The watcher serves no HTTP: the API credentials are not needed.
  const config = loadConfig({
    PHASELENS_AUTH: 'none',
    PHASELENS_ALLOW_NO_AUTH: 'true',
    PHASELENS_HOST: '127.0.0.1',
    ...process.env,
  });
  for (const warning of config.warnings) jsonLogger().warn('configuration', { warning });
  const qido = args.flags.get('qido') === true;
  const days = Number(stringFlag(args, 'days') ?? 2);
  if (!Number.isInteger(days) || days < 0 || days > 365)
    throw new UsageError('--days: a whole number of days from 0 to 365');
  const orthancUrl = config.orthancUrl;
  if (!qido && !orthancUrl)
    throw new UsageError(
      'PHASELENS_ORTHANC_URL is required (the Orthanc REST root, for its /changes feed); for another archive use --qido',
    );
  await selectBackend(() => undefined);
  const modelDir = config.modelDir ?? DEFAULT_MODEL_DIR;
  const model = await loadPhaseModel(modelDir);
  // Each analysis runs in its own process: one that crashes or runs out of memory is retried and
  // then recorded as failed, and the watcher goes on with the next series.
  const processes = analysisProcessesFor(config, modelDir, 1);
  await processes.warm();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  // Validated with the rest of the configuration: a typo must stop the watcher at start, not
  // make every analysis fail while the cursor moves past every new series.
  const maps = config.watchMaps;
  if (qido || !orthancUrl) {
    out.write(`Polling ${config.pacsUrl} (QIDO-RS) for new CT series of the last ${days} days\n`);
    await watchQido(
      {
        pacsUrl: config.pacsUrl,
        auth: config.pacsAuth,
        stateFile:
          stringFlag(args, 'state') ??
          process.env.PHASELENS_WATCH_STATE ??
          'phaselens-watch-state.json',
        maps,
        output: config.output,
        run: processes.run,
        days,
        signal: controller.signal,
      },
      model,
      jsonLogger(),
    );
    await processes.close();
    return 0;
  }
  out.write(`Watching ${orthancUrl} for new CT series\n`);
  await watchOrthanc(
    {
      orthancUrl,
      pacsUrl: config.pacsUrl,
      auth: config.pacsAuth,
      cursorFile:
        stringFlag(args, 'cursor') ??
        process.env.PHASELENS_WATCH_CURSOR ??
        'phaselens-watch-cursor.json',
      maps,
      output: config.output,
      run: processes.run,
      signal: controller.signal,
    },
    model,
    jsonLogger(),
  );
  await processes.close();
  return 0;
}
