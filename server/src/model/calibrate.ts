import { PHASES } from '../phantom/enhancement';

/**
 * Series-level confidence: the mean of the slices' log-probabilities (every slice votes with its
 * confidence), divided by a temperature and renormalised. Hundreds of agreeing slices make the
 * raw product of experts overconfident; the temperature, fitted on validation series, undoes it.
 */
export function seriesProbabilities(sliceProbabilities: number[][], temperature = 1): number[] {
  const k = PHASES.length;
  const mean = new Array<number>(k).fill(0);
  for (const p of sliceProbabilities)
    for (let c = 0; c < k; c++) mean[c] += Math.log(Math.max(p[c], 1e-7));
  const scaled = mean.map((v) => v / sliceProbabilities.length / temperature);
  const top = Math.max(...scaled);
  const exp = scaled.map((v) => Math.exp(v - top));
  const total = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / total);
}

/** Mean negative log-likelihood of the true classes. */
export function negativeLogLikelihood(probabilities: number[][], labels: number[]): number {
  let sum = 0;
  probabilities.forEach((p, i) => (sum -= Math.log(Math.max(p[labels[i]], 1e-12))));
  return sum / probabilities.length;
}

/**
 * The temperature minimising the validation series' negative log-likelihood, searched on a log
 * grid from 0.25 to 64 and refined once around the best point.
 */
export function fitTemperature(seriesSlices: number[][][], labels: number[]): number {
  const nll = (t: number): number =>
    negativeLogLikelihood(
      seriesSlices.map((s) => seriesProbabilities(s, t)),
      labels,
    );
  let best = 1;
  let bestLoss = Infinity;
  for (let e = -2; e <= 6; e += 0.125) {
    const t = 2 ** e;
    const loss = nll(t);
    if (loss < bestLoss) [best, bestLoss] = [t, loss];
  }
  for (let f = 0.9; f <= 1.1; f += 0.01) {
    const t = best * f;
    const loss = nll(t);
    if (loss < bestLoss) [best, bestLoss] = [t, loss];
  }
  return best;
}

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  confidence: number;
  accuracy: number;
}

/** Confidence of the top class against accuracy, in equal-width bins; and the ECE. */
export function reliability(
  probabilities: number[][],
  labels: number[],
  bins = 10,
): { bins: ReliabilityBin[]; ece: number } {
  const out: ReliabilityBin[] = Array.from({ length: bins }, (_, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: 0,
    confidence: 0,
    accuracy: 0,
  }));
  probabilities.forEach((p, i) => {
    const confidence = Math.max(...p);
    const predicted = p.indexOf(confidence);
    const bin = out[Math.min(bins - 1, Math.floor(confidence * bins))];
    bin.count++;
    bin.confidence += confidence;
    bin.accuracy += predicted === labels[i] ? 1 : 0;
  });
  let ece = 0;
  for (const b of out) {
    if (b.count === 0) continue;
    b.confidence /= b.count;
    b.accuracy /= b.count;
    ece += (b.count / probabilities.length) * Math.abs(b.accuracy - b.confidence);
  }
  return { bins: out, ece };
}

/** Rows: true class; columns: predicted class. */
export function confusionMatrix(probabilities: number[][], labels: number[]): number[][] {
  const m = PHASES.map(() => PHASES.map(() => 0));
  probabilities.forEach((p, i) => m[labels[i]][p.indexOf(Math.max(...p))]++);
  return m;
}
