import { decideSeries, fitDecisionRule, INDETERMINATE_RATE } from '../src/model/inference/decision';
import { Random } from '../src/phantom/random';

/** `n` slices, each with probability `p` on class `k` and the rest spread evenly. */
const slices = (n: number, k: number, p: number): number[][] =>
  Array.from({ length: n }, () => [0, 1, 2, 3].map((c) => (c === k ? p : (1 - p) / 3)));

const rule = { temperature: 0.5, minAgreement: 0.6, unanimous: true };

describe('series decision', () => {
  it('members and slices that agree give the phase, sharpened by the temperature', () => {
    const d = decideSeries([slices(10, 2, 0.8), slices(10, 2, 0.7)], rule);
    expect(d.call).toBe('portal-venous');
    expect(d.agreement).toBeCloseTo(0.75, 10);
    expect(d.probabilities[2]).toBeGreaterThan(0.75);
    expect(d.reason).toBeUndefined();
  });

  it('members that lead with different phases make it indeterminate, naming them', () => {
    const d = decideSeries([slices(10, 2, 0.9), slices(10, 3, 0.7)], rule);
    expect(d.call).toBe('indeterminate');
    expect(d.leading).toBe('portal-venous');
    expect(d.reason).toBe("the ensemble's members disagree (portal-venous, delayed)");
  });

  it('slices that disagree beyond the threshold make it indeterminate, whatever the temperature', () => {
    // 13 slices lean delayed, 7 portal-venous: delayed holds (13 x 0.7 + 7 x 0.1) / 20 = 49%.
    const mixed = [...slices(13, 3, 0.7), ...slices(7, 2, 0.7)];
    const d = decideSeries([mixed], rule);
    expect(d.leading).toBe('delayed');
    expect(d.agreement).toBeLessThan(0.6);
    expect(d.call).toBe('indeterminate');
    expect(d.reason).toMatch(/^slices agree on delayed for only 49% .*at least 60%\)$/);
  });

  it('the fitted threshold calls at most 1% of validation series indeterminate', () => {
    const r = new Random('fit');
    const series: number[][][][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 300; i++) {
      const k = i % 4;
      series.push([slices(12, k, r.uniform(0.45, 0.99)), slices(12, k, r.uniform(0.45, 0.99))]);
      labels.push(k);
    }
    const fitted = fitDecisionRule(series, labels, true);
    const below = series.filter((s) => decideSeries(s, fitted).call === 'indeterminate').length;
    expect(below).toBeLessThanOrEqual(Math.floor(INDETERMINATE_RATE * series.length));
    expect(below).toBeGreaterThan(0);
    // Every slice was right, so calibration sharpens: a temperature below one.
    expect(fitted.temperature).toBeLessThan(1);
  });
});
