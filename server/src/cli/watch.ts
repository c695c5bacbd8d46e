import { selectBackend } from '../model/backend';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/phase-model';
import { loadConfig } from '../service/config';
import { jsonLogger } from '../service/log';
import { watchOrthanc } from '../service/watcher';
import { parseArgs, stringFlag, UsageError } from './args';

export const watchUsage =
  'phaselens watch [--cursor FILE]   (PHASELENS_PACS_URL, PHASELENS_ORTHANC_URL, PACS credentials, PHASELENS_WATCH_MAPS)';

/** Tags the phase of every new CT series in Orthanc, until SIGINT or SIGTERM. */
export async function watch(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: ['cursor'], booleans: [] });
  if (args.positional.length) throw new UsageError(`usage: ${watchUsage}`);
  // The watcher serves no HTTP: the API credentials are not needed.
  const config = loadConfig({
    PHASELENS_AUTH: 'none',
    PHASELENS_ALLOW_NO_AUTH: 'true',
    PHASELENS_HOST: '127.0.0.1',
    ...process.env,
  });
  if (!config.orthancUrl)
    throw new UsageError(
      'PHASELENS_ORTHANC_URL is required (the Orthanc REST root, for its /changes feed)',
    );
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(config.modelDir ?? DEFAULT_MODEL_DIR);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  out.write(`Watching ${config.orthancUrl} for new CT series\n`);
  await watchOrthanc(
    {
      orthancUrl: config.orthancUrl,
      pacsUrl: config.pacsUrl,
      auth: config.pacsAuth,
      cursorFile:
        stringFlag(args, 'cursor') ??
        process.env.PHASELENS_WATCH_CURSOR ??
        'phaselens-watch-cursor.json',
      maps: (process.env.PHASELENS_WATCH_MAPS ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
      mapFormat: config.mapFormat,
      signal: controller.signal,
    },
    model,
    jsonLogger(),
  );
  return 0;
}
