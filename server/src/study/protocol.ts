import { Random } from '../phantom/random';
import { PRIMARY_BASELINE } from './metrics';
import type { MapMeasures, SeriesRecord } from './run-study';

/**
 * The study's protocol in code (docs/study/PROTOCOL.md says it in words, and was written before
 * the numbers): one primary measure, the comparisons it decides, the secondary measures, and the
 * statistics. Every comparison is reported whatever it shows.
 */

/**
 * Protocol versions: 1 (2026-12-05: 12 synthetic patients, superiority only) and 2 (2026-12-07:
 * an equivalence margin on the primary measure, 40 synthetic patients from a fresh seed, the
 * number from protocol 1's differences as a pilot). A run records its version; its report is
 * told by that version's rules.
 */
export type ProtocolVersion = 1 | 2;
export const CURRENT_PROTOCOL: ProtocolVersion = 2;

/**
 * Protocol 2: a difference in deletion area (the decided phase's mean probability over the
 * deletion curve, 0-1) smaller than two percentage points is of no consequence to what a map
 * tells a reader. Fixed with protocol 1's numbers known (PROTOCOL.md says so).
 */
export const EQUIVALENCE_MARGIN = 0.02;

/**
 * Two one-sided tests at ALPHA each, Bonferroni-corrected over the family: a comparison is
 * equivalent when its (1 - 2 ALPHA / m) bootstrap interval lies inside the margin.
 */
export function equivalenceLevel(comparisons = COMPARISONS.length): number {
  return 1 - (2 * ALPHA) / comparisons;
}

export interface Measure {
  key: string;
  label: string;
  lowerIsBetter: boolean;
  get(m: MapMeasures): number;
  /** Only where structure labels exist (phantoms). */
  needsLabels?: boolean;
}

export const PRIMARY: Measure = {
  key: 'deletion',
  label: `deletion area (${PRIMARY_BASELINE} baseline)`,
  lowerIsBetter: true,
  get: (m) => m.deletion[PRIMARY_BASELINE],
};

export const SECONDARY: Measure[] = [
  {
    key: 'insertion',
    label: `insertion area (${PRIMARY_BASELINE} baseline)`,
    lowerIsBetter: false,
    get: (m) => m.insertion[PRIMARY_BASELINE],
  },
  {
    key: 'deletion-blur',
    label: 'deletion area (blur baseline)',
    lowerIsBetter: true,
    get: (m) => m.deletion.blur,
  },
  {
    key: 'deletion-non-contrast',
    label: 'deletion area (same patient without contrast)',
    lowerIsBetter: true,
    get: (m) => m.deletion['non-contrast'],
    needsLabels: true,
  },
  {
    key: 'mass-over-chance',
    label: 'mass in the phase mask minus its area share',
    lowerIsBetter: false,
    get: (m) => m.mass - m.chance,
    needsLabels: true,
  },
  {
    key: 'auc',
    label: 'ROC AUC against the phase mask',
    lowerIsBetter: false,
    get: (m) => m.auc,
    needsLabels: true,
  },
  {
    key: 'kept',
    label: 'smallest kept share keeping the decision',
    lowerIsBetter: true,
    get: (m) => m.keptFraction,
  },
];

export interface Comparison {
  /** The map said to be more specific, and the one it is compared with. */
  a: string;
  b: string;
  question: string;
  /** Which of the paper's results it bears on. */
  result: 1 | 2 | 'control';
}

/** Matched layer and resolution: each SAM against the map computed where it is. */
export const COMPARISONS: Comparison[] = [
  {
    a: 'sam',
    b: 'saliency',
    question: 'SAM at the input vs saliency: the effect of multiplying by the input',
    result: 1,
  },
  { a: 'sam', b: 'guided', question: 'SAM at the input vs guided backpropagation', result: 1 },
  { a: 'sam@conv5', b: 'gradcam', question: 'SAM vs Grad-CAM at conv5', result: 1 },
  { a: 'sam@pool5', b: 'cam', question: 'SAM vs CAM at pool5', result: 1 },
  { a: 'sam@conv1', b: 'gradcam@conv1', question: 'SAM vs Grad-CAM at conv1', result: 2 },
  { a: 'sam@conv2', b: 'gradcam@conv2', question: 'SAM vs Grad-CAM at conv2', result: 2 },
  {
    a: 'sam',
    b: 'control-input',
    question: 'SAM at the input vs the input intensity itself',
    result: 'control',
  },
  { a: 'sam', b: 'control-edge', question: 'SAM at the input vs an edge map', result: 'control' },
  {
    a: 'sam',
    b: 'control-random',
    question: 'SAM at the input vs a random map',
    result: 'control',
  },
];

export const RESAMPLES = 4000;
/** Resamples for protocol 2's equivalence interval, whose tails hold 0.56% each. */
export const EQUIVALENCE_RESAMPLES = 40000;
export const ALPHA = 0.05;

/** The smallest two-sided p a sign-flip test over `patients` patients can give: 2 / 2^n. */
export function smallestPossibleP(patients: number): number {
  return Math.min(1, 2 / 2 ** patients);
}

/**
 * Whether an arm with this many patients can show any difference at all: after Holm's
 * correction the smallest p must be below ALPHA / (comparisons in the family).
 */
export function canShowDifference(patients: number, comparisons = COMPARISONS.length): boolean {
  return smallestPossibleP(patients) * comparisons < ALPHA;
}

export interface PairedEstimate {
  /** Mean over series of a - b. */
  mean: number;
  low: number;
  high: number;
  /** Two-sided p-value for no difference: a sign-flip permutation test over patients. */
  p: number;
  /**
   * Protocol 2's equivalence interval (percentile, at the level asked for, from its own
   * EQUIVALENCE_RESAMPLES resamples); absent where no equivalence test was made.
   */
  equivalence?: { level: number; low: number; high: number };
  series: number;
  patients: number;
}

/**
 * Paired difference a - b per series: the mean, a 95% percentile interval from a bootstrap that
 * resamples patients (all of a drawn patient's series together: series of one patient are not
 * independent), and a two-sided sign-flip p-value over patients. Series where either value is
 * missing are left out.
 */
export function pairedByPatient(
  records: SeriesRecord[],
  a: string,
  b: string,
  measure: Measure,
  equivalenceAt?: number,
  seed = 'protocol',
): PairedEstimate {
  const byPatient = new Map<string, number[]>();
  for (const r of records) {
    const ma = r.maps[a];
    const mb = r.maps[b];
    if (!ma || !mb) continue;
    const d = measure.get(ma) - measure.get(mb);
    if (!Number.isFinite(d)) continue;
    byPatient.set(r.patient, [...(byPatient.get(r.patient) ?? []), d]);
  }
  const groups = [...byPatient.values()];
  const series = groups.reduce((n, g) => n + g.length, 0);
  if (series === 0)
    return {
      mean: NaN,
      low: NaN,
      high: NaN,
      p: NaN,
      series: 0,
      patients: groups.length,
    };
  const meanOf = (gs: number[][]): number => {
    let s = 0;
    let n = 0;
    for (const g of gs) {
      for (const v of g) s += v;
      n += g.length;
    }
    return s / n;
  };
  /** Sorted bootstrap means of `count` resamples of patients. */
  const resampled = (random: Random, count: number): number[] => {
    const means: number[] = [];
    for (let r = 0; r < count; r++)
      means.push(meanOf(groups.map(() => groups[random.int(0, groups.length - 1)])));
    return means.sort((x, y) => x - y);
  };
  const at = (means: number[], q: number): number =>
    means[Math.min(means.length - 1, Math.max(0, Math.floor(q * means.length)))];
  const random = new Random(`${seed}/${a}/${b}/${measure.key}`);
  const means = resampled(random, RESAMPLES);
  const observed = meanOf(groups);
  const estimate: PairedEstimate = {
    mean: observed,
    low: at(means, 0.025),
    high: at(means, 0.975),
    p: signFlipP(groups, observed, random),
    series,
    patients: groups.length,
  };
  if (equivalenceAt !== undefined) {
    // Its own stream, and enough resamples that its far tails are not Monte Carlo noise.
    const wide = resampled(
      new Random(`${seed}/${a}/${b}/${measure.key}/equivalence`),
      EQUIVALENCE_RESAMPLES,
    );
    const tail = (1 - equivalenceAt) / 2;
    estimate.equivalence = {
      level: equivalenceAt,
      low: at(wide, tail),
      high: at(wide, 1 - tail),
    };
  }
  return estimate;
}

/**
 * Two-sided p-value of a sign-flip permutation test over patients: under no difference, each
 * patient's differences are as likely negated. Exact over all 2^n flips up to 12 patients,
 * else RESAMPLES random flips. With few patients the smallest possible p is large (2 / 2^n),
 * as it should be: two patients can never show a difference.
 */
function signFlipP(groups: number[][], observed: number, random: Random): number {
  const sums = groups.map((g) => g.reduce((a, b) => a + b, 0));
  const n = groups.reduce((a, g) => a + g.length, 0);
  const exact = groups.length <= 12;
  const trials = exact ? 2 ** groups.length : RESAMPLES;
  let extreme = 0;
  for (let t = 0; t < trials; t++) {
    let s = 0;
    for (let i = 0; i < sums.length; i++) {
      const flip = exact ? (t >> i) & 1 : random.int(0, 1);
      s += flip ? -sums[i] : sums[i];
    }
    if (Math.abs(s / n) >= Math.abs(observed) - 1e-12) extreme++;
  }
  return exact ? extreme / trials : (extreme + 1) / (trials + 1);
}

/** Holm's step-down adjustment: adjusted p-values in the input order (NaN stays NaN). */
export function holm(p: number[]): number[] {
  const order = p
    .map((v, i) => ({ v, i }))
    .filter((x) => Number.isFinite(x.v))
    .sort((x, y) => x.v - y.v);
  const m = order.length;
  const adjusted = p.map(() => NaN);
  let running = 0;
  order.forEach((x, k) => {
    running = Math.max(running, Math.min(1, (m - k) * x.v));
    adjusted[x.i] = running;
  });
  return adjusted;
}

export type Finding = 'a better' | 'b better' | 'equivalent' | 'no difference shown' | 'n/a';

export interface ComparisonResult extends Comparison {
  estimate: PairedEstimate;
  adjustedP: number;
  finding: Finding;
  /** The equivalence margin applied to this comparison, if any. */
  margin?: number;
}

/**
 * Every comparison on one measure, Holm-corrected within the family. With an equivalence
 * `margin` (protocol 2, primary measure), a difference whose equivalence interval lies inside
 * (-margin, margin) is 'equivalent', significant or not: too small to matter either way.
 */
export function compare(
  records: SeriesRecord[],
  measure: Measure,
  comparisons: Comparison[] = COMPARISONS,
  margin?: number,
): ComparisonResult[] {
  const patients = new Set(records.map((r) => r.patient)).size;
  // An arm too small to show a difference is too small to show an equivalence: its percentile
  // intervals are too narrow to trust (PROTOCOL.md).
  const level =
    margin !== undefined && canShowDifference(patients, comparisons.length)
      ? equivalenceLevel(comparisons.length)
      : undefined;
  const estimates = comparisons.map((c) => pairedByPatient(records, c.a, c.b, measure, level));
  const adjusted = holm(estimates.map((e) => e.p));
  return comparisons.map((c, i) => {
    const e = estimates[i];
    let finding: Finding = 'n/a';
    if (Number.isFinite(e.mean)) {
      const aBetter = measure.lowerIsBetter ? e.mean < 0 : e.mean > 0;
      finding = adjusted[i] < ALPHA ? (aBetter ? 'a better' : 'b better') : 'no difference shown';
      if (margin !== undefined && e.equivalence)
        if (e.equivalence.low > -margin && e.equivalence.high < margin) finding = 'equivalent';
    }
    return {
      ...c,
      estimate: e,
      adjustedP: adjusted[i],
      finding,
      margin: level === undefined ? undefined : margin,
    };
  });
}

/** The equivalence margin a run's protocol sets on the primary measure (none before 2). */
export function marginOf(protocol: ProtocolVersion): number | undefined {
  return protocol >= 2 ? EQUIVALENCE_MARGIN : undefined;
}

/**
 * The verdict on one of the paper's results: it holds when every comparison bearing on it finds
 * SAM better on the primary measure after correction, and SAM also beats the input-intensity
 * control (otherwise its specificity cannot be told from the input's own). It does not hold when
 * any of them finds the other map better or (protocol 2) the two equivalent.
 */
export function verdictOn(
  result: 1 | 2,
  primary: ComparisonResult[],
): 'holds' | 'does not hold' | 'not shown' {
  const own = primary.filter((c) => c.result === result);
  const control = primary.find((c) => c.b === 'control-input');
  if (own.some((c) => c.finding === 'n/a')) return 'not shown';
  if (own.some((c) => c.finding === 'b better' || c.finding === 'equivalent'))
    return 'does not hold';
  if (own.every((c) => c.finding === 'a better') && control?.finding === 'a better') return 'holds';
  return 'not shown';
}
