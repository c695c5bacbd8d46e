import { classifyWithModel } from '../model/classify';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/phase-model';
import { selectBackend } from '../model/backend';
import { PHASES } from '../phantom/enhancement';
import { readSeries } from '../series/read-series';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { pacsAuthFromEnv } from './pacs-auth';
import { progressBar } from './progress';

export const classifyUsage =
  'phaselens classify SOURCE [--json] [--model DIR] [--series UID] [--acquisition N]';

/** Prints the phase of a series: decision, confidence, class probabilities (and per slice in JSON). */
export async function classify(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: ['model', 'series', 'acquisition'],
    booleans: ['json'],
  });
  const [source, ...extra] = args.positional;
  if (!source || extra.length > 0) throw new UsageError(`usage: ${classifyUsage}`);
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(stringFlag(args, 'model') ?? DEFAULT_MODEL_DIR);
  const series = await readSeries(source, {
    seriesInstanceUid: stringFlag(args, 'series'),
    acquisitionNumber: intFlag(args, 'acquisition'),
    auth: pacsAuthFromEnv(),
    onProgress: progressBar('reading slices'),
  });
  const result = await classifyWithModel(model, series);
  if (args.flags.has('json')) {
    out.write(
      `${JSON.stringify({ seriesInstanceUid: series.seriesInstanceUid, studyInstanceUid: series.studyInstanceUid, ...result }, null, 2)}\n`,
    );
    return 0;
  }
  out.write(
    [
      `Phase: ${result.phase} (confidence ${result.confidence.toFixed(2)})`,
      `  ${PHASES.map((p) => `${p} ${result.probabilities[p].toFixed(2)}`).join('  ')}`,
      `  ${result.slices.length} of ${series.slices} slices used; model ${result.model.name} ${result.model.version}`,
      '',
    ].join('\n'),
  );
  return 0;
}
