import { PHASES, type Phase } from '../../domain/phase';
import { fitTemperature, meanProbabilities, temperProbabilities } from './calibrate';

/**
 * How a series' slice probabilities (from one network or from each member of an ensemble)
 * become a call. Both numbers are fitted on synthetic validation series, never on real CT.
 */
export interface DecisionRule {
  /** Temperature on the mean probabilities over members and slices (series calibration). */
  temperature: number;
  /**
   * The lowest agreement (mean probability of the leading phase over every member's slices)
   * still called a phase; below it the series is `indeterminate`.
   */
  minAgreement: number;
  /** Ensemble members must all lead with the same phase, or the series is `indeterminate`. */
  unanimous: boolean;
}

export interface SeriesDecision {
  /** The leading phase, or `indeterminate` when the rule says the evidence disagrees. */
  call: Phase | 'indeterminate';
  leading: Phase;
  /** Calibrated series probabilities in PHASES order. */
  probabilities: number[];
  /** Mean probability of the leading phase over every member's slices, before calibration. */
  agreement: number;
  /** Each member's own leading phase. */
  members: Phase[];
  reason?: string;
}

const argmax = (p: number[]): number => p.indexOf(Math.max(...p));
const percent = (v: number): string => `${Math.round(v * 100)}%`;

/**
 * The series call from `memberSlices[m][s]` (member m's probabilities for slice s). Probabilities
 * are averaged, not multiplied: a few slices that are sure of themselves cannot outvote the
 * rest, and slices that disagree leave the mean spread out, which the agreement threshold sees.
 */
export function decideSeries(memberSlices: number[][][], rule: DecisionRule): SeriesDecision {
  const all = memberSlices.flat();
  const mean = meanProbabilities(all);
  const lead = argmax(mean);
  const leading = PHASES[lead];
  const members = memberSlices.map((slices) => PHASES[argmax(meanProbabilities(slices))]);
  const probabilities = temperProbabilities(mean, rule.temperature);
  const agreement = mean[lead];
  const base = { leading, probabilities, agreement, members };
  if (rule.unanimous && members.some((m) => m !== leading))
    return {
      ...base,
      call: 'indeterminate',
      reason: `the ensemble's members disagree (${members.join(', ')})`,
    };
  if (agreement < rule.minAgreement)
    return {
      ...base,
      call: 'indeterminate',
      reason: `slices agree on ${leading} for only ${percent(agreement)} of their probability (synthetic validation series: at least ${percent(rule.minAgreement)})`,
    };
  return { ...base, call: leading };
}

/** The share of synthetic validation series the agreement threshold may call indeterminate. */
export const INDETERMINATE_RATE = 0.01;

/**
 * Fits the rule on validation series: the temperature minimising their negative log-likelihood,
 * and the agreement threshold below which at most INDETERMINATE_RATE of them fall.
 */
export function fitDecisionRule(
  series: number[][][][],
  labels: number[],
  unanimous: boolean,
): DecisionRule {
  const temperature = fitTemperature(
    series.map((members) => members.flat()),
    labels,
  );
  const agreements = series
    .map((members) => Math.max(...meanProbabilities(members.flat())))
    .sort((a, b) => a - b);
  const k = Math.floor(INDETERMINATE_RATE * agreements.length);
  // Halfway to the next series up, so the k series below stay below and the rest pass.
  const minAgreement = k === 0 ? agreements[0] * 0.999 : (agreements[k - 1] + agreements[k]) / 2;
  return { temperature, minAgreement, unanimous };
}
