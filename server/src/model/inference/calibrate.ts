import { PHASES } from '../../domain/phase';

/**
 * Series-level probabilities: the mean of the slices' probabilities (a slice that is sure of
 * itself counts once, not as a factor that multiplies the others), then sharpened or softened by
 * a temperature fitted on validation series. Slices that disagree leave the mean spread out, so
 * disagreement stays visible instead of being turned into confidence.
 */
export function seriesProbabilities(sliceProbabilities: number[][], temperature = 1): number[] {
  return temperProbabilities(meanProbabilities(sliceProbabilities), temperature);
}

/** The element-wise mean of probability vectors (of slices, or of slices of several members). */
export function meanProbabilities(probabilities: number[][]): number[] {
  const k = PHASES.length;
  const mean = new Array<number>(k).fill(0);
  for (const p of probabilities) for (let c = 0; c < k; c++) mean[c] += p[c];
  return mean.map((v) => v / Math.max(1, probabilities.length));
}

/** Probabilities raised to 1/temperature and renormalised. */
export function temperProbabilities(probabilities: number[], temperature: number): number[] {
  const scaled = probabilities.map((v) => Math.log(Math.max(v, 1e-7)) / temperature);
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
 * grid from 1/32 to 64 (averaged probabilities need sharpening below 1/4) and refined once around the best point.
 */
export function fitTemperature(seriesSlices: number[][][], labels: number[]): number {
  const nll = (t: number): number =>
    negativeLogLikelihood(
      seriesSlices.map((s) => seriesProbabilities(s, t)),
      labels,
    );
  let best = 1;
  let bestLoss = Infinity;
  for (let e = -5; e <= 6; e += 0.125) {
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
