import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PHASES } from '../../domain/phase';
import { confusionChart, lineChart, reliabilityChart } from '../../render/chart';
import { confusionMatrix, reliability } from '../inference/calibrate';
import type { EpochRecord } from '../training/train';

/** Loss and accuracy per epoch, training against validation. */
export async function writeTrainingCurve(history: EpochRecord[], file: string): Promise<void> {
  const at = (f: (r: EpochRecord) => number): [number, number][] =>
    history.map((r) => [r.epoch, f(r)]);
  const png = lineChart({
    title: 'Training curve',
    xLabel: 'epoch',
    yLabel: 'loss / accuracy',
    yRange: [0, Math.max(1.5, ...history.map((r) => Math.max(r.loss, r.validationLoss)))],
    series: [
      { label: 'training loss', colour: [200, 80, 40], points: at((r) => r.loss) },
      { label: 'validation loss', colour: [240, 160, 60], points: at((r) => r.validationLoss) },
      { label: 'training accuracy', colour: [40, 90, 200], points: at((r) => r.accuracy) },
      {
        label: 'validation accuracy',
        colour: [90, 170, 240],
        points: at((r) => r.validationAccuracy),
      },
      ...(history.every((r) => r.validationSeriesAccuracy !== undefined)
        ? [
            {
              label: 'validation series accuracy',
              colour: [30, 150, 60] as [number, number, number],
              points: at((r) => r.validationSeriesAccuracy),
            },
          ]
        : []),
    ],
  });
  await fs.writeFile(file, png);
}

export interface SeriesOutcome {
  id: string;
  truth: number;
  /** Calibrated series probabilities (PHASES order); all zero when out of scope. */
  probabilities: number[];
  /** The call: a phase, 'indeterminate' or 'out-of-scope'. */
  call: string;
  /** Why the call is not a phase. */
  reason?: string;
  /** Slices whose own leading phase is each phase (PHASES order). */
  sliceVotes: number[];
}

export interface EvaluationSummary {
  series: number;
  /** Share called right (an indeterminate or out-of-scope call is not right). */
  accuracy: number;
  /** Share called a wrong phase. */
  wrong: number;
  indeterminate: number;
  outOfScope: number;
  /** The highest confidence of a wrong call (0 when none). */
  worstWrongConfidence: number;
  /** Share of slices whose own leading phase is the truth, over all series' slices. */
  sliceAgreement: number;
  ece: number;
  perPhase: Record<string, { series: number; accuracy: number }>;
  confusion: number[][];
  /** The phantom generator's version that drew the series (absent for real series). */
  generator?: number;
}

/** Accuracy, confusion matrix and calibration of series outcomes; PNG figures beside JSON. */
export async function writeEvaluation(
  outcomes: SeriesOutcome[],
  dir: string,
  title: string,
  generator?: number,
): Promise<EvaluationSummary> {
  await fs.mkdir(dir, { recursive: true });
  // Calibration and the confusion matrix are of the leading phase of every scored series.
  const scored = outcomes.filter((o) => o.call !== 'out-of-scope');
  const probabilities = scored.map((o) => o.probabilities);
  const labels = scored.map((o) => o.truth);
  const confusion = confusionMatrix(probabilities, labels);
  const { bins, ece } = reliability(probabilities, labels);
  const n = Math.max(1, outcomes.length);
  const isRight = (o: SeriesOutcome): boolean => o.call === PHASES[o.truth];
  const isWrong = (o: SeriesOutcome): boolean =>
    (PHASES as readonly string[]).includes(o.call) && !isRight(o);
  const votes = outcomes.reduce((a, o) => a + o.sliceVotes.reduce((x, y) => x + y, 0), 0);
  const summary: EvaluationSummary = {
    series: outcomes.length,
    accuracy: outcomes.filter(isRight).length / n,
    wrong: outcomes.filter(isWrong).length / n,
    indeterminate: outcomes.filter((o) => o.call === 'indeterminate').length,
    outOfScope: outcomes.filter((o) => o.call === 'out-of-scope').length,
    worstWrongConfidence: Math.max(
      0,
      ...outcomes.filter(isWrong).map((o) => Math.max(...o.probabilities)),
    ),
    sliceAgreement:
      outcomes.reduce((a, o) => a + (o.sliceVotes[o.truth] ?? 0), 0) / Math.max(1, votes),
    ece,
    perPhase: Object.fromEntries(
      PHASES.map((p, k) => {
        const of = outcomes.filter((o) => o.truth === k);
        return [
          p,
          { series: of.length, accuracy: of.length ? of.filter(isRight).length / of.length : 0 },
        ];
      }),
    ),
    confusion,
    ...(generator !== undefined ? { generator } : {}),
  };
  await fs.writeFile(
    path.join(dir, 'confusion-matrix.png'),
    confusionChart(`${title}: confusion matrix`, [...PHASES], confusion),
  );
  await fs.writeFile(
    path.join(dir, 'reliability.png'),
    reliabilityChart(`${title}: reliability`, bins, ece),
  );
  const rows = outcomes.map(
    (o) =>
      `${o.id},${PHASES[o.truth]},${o.call},${o.probabilities.map((p) => p.toFixed(4)).join(',')},${o.sliceVotes.join(',')},"${(o.reason ?? '').replace(/"/g, "'")}"`,
  );
  await fs.writeFile(
    path.join(dir, 'series.csv'),
    `series,truth,call,${PHASES.join(',')},${PHASES.map((p) => `slices ${p}`).join(',')},reason\n${rows.join('\n')}\n`,
  );
  await fs.writeFile(
    path.join(dir, 'evaluation.json'),
    `${JSON.stringify({ ...summary, reliability: bins }, null, 2)}\n`,
  );
  return summary;
}
