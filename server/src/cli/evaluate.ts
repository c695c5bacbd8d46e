import { PHANTOM_GENERATOR_VERSION } from '../phantom/patient';
import { evaluateUsage } from './usages';
import { classifyWithModel } from '../model/inference/classify';
import { labelledFolder, phantomSeries, type LabelledSeries } from '../model/training/dataset';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/inference/phase-model';
import { selectBackend } from '../model/inference/backend';
import { writeEvaluation, type SeriesOutcome } from '../model/reports/report';
import { PHASES } from '../domain/phase';
import { OutOfScopeError } from '../errors';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { progressBar } from './progress';

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
    const truth = PHASES.indexOf(s.phase);
    try {
      const result = await classifyWithModel(model, await s.load());
      const sliceVotes = PHASES.map(() => 0);
      for (const slice of result.slices) {
        const p = PHASES.map((q) => slice.probabilities[q]);
        sliceVotes[p.indexOf(Math.max(...p))]++;
      }
      outcomes.push({
        id: s.id,
        truth,
        probabilities: PHASES.map((p) => result.probabilities[p]),
        call: result.phase,
        ...(result.reason ? { reason: result.reason } : {}),
        sliceVotes,
      });
    } catch (error) {
      if (!(error instanceof OutOfScopeError)) throw error;
      outcomes.push({
        id: s.id,
        truth,
        probabilities: PHASES.map(() => 0),
        call: 'out-of-scope',
        reason: error.message,
        sliceVotes: PHASES.map(() => 0),
      });
    }
    progress(outcomes.length, series.length);
  }
  const summary = await writeEvaluation(
    outcomes,
    dir,
    phantoms !== undefined ? 'Held-out phantoms' : 'Labelled series',
    phantoms !== undefined ? PHANTOM_GENERATOR_VERSION : undefined,
  );
  out.write(
    `${summary.series} series: ${(summary.accuracy * 100).toFixed(1)}% right, ${(summary.wrong * 100).toFixed(1)}% wrong (highest wrong confidence ${summary.worstWrongConfidence.toFixed(2)}), ${summary.indeterminate} indeterminate, ${summary.outOfScope} out of scope; expected calibration error ${summary.ece.toFixed(3)}; slices agreeing with the truth ${(summary.sliceAgreement * 100).toFixed(0)}%\n` +
      PHASES.map(
        (p) =>
          `  ${p.padEnd(14)} ${summary.perPhase[p].series} series, ${(summary.perPhase[p].accuracy * 100).toFixed(1)}%`,
      ).join('\n') +
      `\nWrote ${dir}/evaluation.json, series.csv, confusion-matrix.png, reliability.png\n`,
  );
  return 0;
}
