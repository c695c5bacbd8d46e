import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PHASES } from '../domain/phase';
import { confusionChart, lineChart, reliabilityChart } from '../render/chart';
import { confusionMatrix, reliability } from './calibrate';
import type { EpochRecord } from './train';

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
  probabilities: number[];
}

export interface EvaluationSummary {
  series: number;
  accuracy: number;
  ece: number;
  perPhase: Record<string, { series: number; accuracy: number }>;
  confusion: number[][];
}

/** Accuracy, confusion matrix and calibration of series outcomes; PNG figures beside JSON. */
export async function writeEvaluation(
  outcomes: SeriesOutcome[],
  dir: string,
  title: string,
): Promise<EvaluationSummary> {
  await fs.mkdir(dir, { recursive: true });
  const probabilities = outcomes.map((o) => o.probabilities);
  const labels = outcomes.map((o) => o.truth);
  const confusion = confusionMatrix(probabilities, labels);
  const { bins, ece } = reliability(probabilities, labels);
  const right = confusion.reduce((s, row, r) => s + row[r], 0);
  const summary: EvaluationSummary = {
    series: outcomes.length,
    accuracy: right / Math.max(1, outcomes.length),
    ece,
    perPhase: Object.fromEntries(
      PHASES.map((p, k) => {
        const n = confusion[k].reduce((a, b) => a + b, 0);
        return [p, { series: n, accuracy: n ? confusion[k][k] / n : 0 }];
      }),
    ),
    confusion,
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
      `${o.id},${PHASES[o.truth]},${PHASES[o.probabilities.indexOf(Math.max(...o.probabilities))]},${o.probabilities.map((p) => p.toFixed(4)).join(',')}`,
  );
  await fs.writeFile(
    path.join(dir, 'series.csv'),
    `series,truth,predicted,${PHASES.join(',')}\n${rows.join('\n')}\n`,
  );
  await fs.writeFile(
    path.join(dir, 'evaluation.json'),
    `${JSON.stringify({ ...summary, reliability: bins }, null, 2)}\n`,
  );
  return summary;
}
