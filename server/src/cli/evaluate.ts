import { classifyWithModel } from '../model/classify';
import { labelledFolder, phantomSeries, type LabelledSeries } from '../model/dataset';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/phase-model';
import { selectBackend } from '../model/backend';
import { writeEvaluation, type SeriesOutcome } from '../model/report';
import { PHASES } from '../domain/phase';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { progressBar } from './progress';

export const evaluateUsage =
  'phaselens evaluate (--data DIR | --phantoms N [--seed S] [--matrix 256]) --out DIR [--model DIR]';

/**
 * Classifies labelled series and reports series-level accuracy, the confusion matrix, a
 * reliability diagram and the expected calibration error. Phantoms use the seed `heldout-S`,
 * which training never uses.
 */
export async function evaluate(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: ['data', 'phantoms', 'seed', 'matrix', 'model', 'out'],
    booleans: [],
  });
  const dir = stringFlag(args, 'out');
  const data = stringFlag(args, 'data');
  const phantoms = intFlag(args, 'phantoms');
  if (!dir || (data === undefined) === (phantoms === undefined) || args.positional.length)
    throw new UsageError(`usage: ${evaluateUsage}`);
  if (phantoms !== undefined && phantoms < 1) throw new UsageError('--phantoms must be at least 1');
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(stringFlag(args, 'model') ?? DEFAULT_MODEL_DIR);
  const seed = intFlag(args, 'seed') ?? 1;
  const series: LabelledSeries[] =
    phantoms !== undefined
      ? phantomSeries(`heldout-${seed}`, phantoms, intFlag(args, 'matrix') ?? 256)
      : await labelledFolder(data as string);
  const progress = progressBar('classifying series');
  const outcomes: SeriesOutcome[] = [];
  for (const s of series) {
    const result = await classifyWithModel(model, await s.load());
    outcomes.push({
      id: s.id,
      truth: PHASES.indexOf(s.phase),
      probabilities: PHASES.map((p) => result.probabilities[p]),
    });
    progress(outcomes.length, series.length);
  }
  const summary = await writeEvaluation(
    outcomes,
    dir,
    phantoms !== undefined ? 'Held-out phantoms' : 'Labelled series',
  );
  out.write(
    `${summary.series} series: accuracy ${(summary.accuracy * 100).toFixed(1)}%, expected calibration error ${summary.ece.toFixed(3)}\n` +
      PHASES.map(
        (p) =>
          `  ${p.padEnd(14)} ${summary.perPhase[p].series} series, ${(summary.perPhase[p].accuracy * 100).toFixed(1)}%`,
      ).join('\n') +
      `\nWrote ${dir}/evaluation.json, series.csv, confusion-matrix.png, reliability.png\n`,
  );
  return 0;
}
