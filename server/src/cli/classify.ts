import { classifyWithModel } from '../model/classify';
import { PHASES } from '../phantom/enhancement';
import { parseArgs, UsageError } from './args';
import { modelAndSeries } from './source';

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
  const { model, series } = await modelAndSeries(args, source);
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
