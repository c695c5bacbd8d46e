import { INPUT_SIZE, CHANNELS } from '../src/model/inference/preprocess';
import { S } from '../src/phantom/structures';
import { phaseMaskStructures } from '../src/study/masks';
import { groundTruth, orderByMap, tissueMean, topMask } from '../src/study/metrics';
import {
  ALPHA,
  canShowDifference,
  compare,
  COMPARISONS,
  EQUIVALENCE_MARGIN,
  equivalenceLevel,
  holm,
  marginOf,
  pairedByPatient,
  PRIMARY,
  smallestPossibleP,
  verdictOn,
} from '../src/study/protocol';
import type { MapMeasures, SeriesRecord } from '../src/study/run-study';

const PIXELS = INPUT_SIZE * INPUT_SIZE;

/** A record whose maps score `values[key]` on the primary measure. */
function record(id: string, patient: string, values: Record<string, number>): SeriesRecord {
  const maps: Record<string, MapMeasures> = {};
  for (const [key, v] of Object.entries(values))
    maps[key] = {
      deletion: { 'tissue-mean': v, blur: NaN, 'non-contrast': NaN },
      insertion: { 'tissue-mean': NaN, blur: NaN, 'non-contrast': NaN },
      keptFraction: NaN,
      mass: NaN,
      chance: NaN,
      auc: NaN,
      deletionCurve: [],
      insertionCurve: [],
    };
  return {
    id,
    patient,
    kind: 'real',
    truth: 'arterial',
    predicted: 'arterial',
    confidence: 1,
    slices: [],
    floor: { 'tissue-mean': NaN, blur: NaN, 'non-contrast': NaN },
    maps,
  };
}

describe('study statistics', () => {
  it("Holm's adjustment on a worked example", () => {
    const adjusted = holm([0.01, 0.04, 0.03, 0.005, NaN]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adjusted[i]).toBeCloseTo(v, 12));
    expect(adjusted[4]).toBeNaN();
  });

  it('resamples patients, not series: five series of one patient do not count as five patients', () => {
    // One patient's five series favour a by 1; three other patients favour b by 1.
    const records = [
      ...[1, 2, 3, 4, 5].map((i) => record(`p1-${i}`, 'p1', { a: 0, b: 1 })),
      record('p2', 'p2', { a: 1, b: 0 }),
      record('p3', 'p3', { a: 1, b: 0 }),
      record('p4', 'p4', { a: 1, b: 0 }),
    ];
    const e = pairedByPatient(records, 'a', 'b', PRIMARY);
    expect(e.mean).toBeCloseTo(-0.25, 12);
    expect(e.patients).toBe(4);
    expect(e.series).toBe(8);
    expect(e.low).toBeLessThan(0);
    expect(e.high).toBeGreaterThan(0);
    expect(e.p).toBeGreaterThan(0.2);
  });

  it('a consistent difference over many patients is found, and the verdict follows the protocol', () => {
    const records = Array.from({ length: 30 }, (_, i) =>
      record(`s${i}`, `p${i}`, {
        sam: 0.2 + 0.01 * (i % 3),
        saliency: 0.4,
        guided: 0.4,
        'sam@conv5': 0.2,
        gradcam: 0.4,
        'sam@pool5': 0.2,
        cam: 0.4,
        'sam@conv1': 0.3,
        'gradcam@conv1': 0.3 + 0.02 * ((i % 5) - 2),
        'sam@conv2': 0.3,
        'gradcam@conv2': 0.3,
        'control-input': 0.5,
        'control-edge': 0.6,
        'control-random': 0.7,
      }),
    );
    const results = compare(records, PRIMARY);
    expect(results.find((c) => c.b === 'saliency')?.finding).toBe('a better');
    expect(results.find((c) => c.b === 'gradcam@conv2')?.finding).toBe('no difference shown');
    expect(verdictOn(1, results)).toBe('holds');
    expect(verdictOn(2, results)).toBe('not shown');
  });

  it('protocol 2: a difference within the margin is equivalent and the result does not hold; a wide interval stays not shown', () => {
    // SAM and Grad-CAM at conv5 differ by at most 0.005 on 40 patients: equivalent within 0.02.
    // SAM and CAM differ by -0.01 on average, but with a spread that leaves the interval wide.
    const records = Array.from({ length: 40 }, (_, i) =>
      record(`s${i}`, `p${i}`, {
        sam: 0.2,
        saliency: 0.4,
        guided: 0.4,
        'sam@conv5': 0.2 + 0.005 * ((i % 3) - 1),
        gradcam: 0.2,
        'sam@pool5': 0.2 + 0.2 * ((i % 2) - 0.5) - 0.01,
        cam: 0.2,
        'control-input': 0.5,
      }),
    );
    const margin = marginOf(2);
    expect(margin).toBe(EQUIVALENCE_MARGIN);
    expect(marginOf(1)).toBeUndefined();
    const results = compare(records, PRIMARY, COMPARISONS, margin);
    const conv5 = results.find((c) => c.b === 'gradcam');
    expect(conv5?.finding).toBe('equivalent');
    // The equivalence interval is the wider, Bonferroni-corrected one, and inside the margin.
    const interval = conv5?.estimate.equivalence;
    expect(interval?.level).toBeCloseTo(1 - 0.1 / 9, 12);
    expect(interval?.low).toBeLessThanOrEqual(conv5?.estimate.low ?? NaN);
    expect(interval?.high).toBeGreaterThanOrEqual(conv5?.estimate.high ?? NaN);
    expect(interval?.high).toBeLessThan(EQUIVALENCE_MARGIN);
    expect(conv5?.margin).toBe(EQUIVALENCE_MARGIN);
    expect(results.find((c) => c.b === 'cam')?.finding).toBe('no difference shown');
    expect(results.find((c) => c.b === 'saliency')?.finding).toBe('a better');
    expect(verdictOn(1, results)).toBe('does not hold');
    // Protocol 1 has no margin: the same numbers leave result 1 not shown.
    expect(verdictOn(1, compare(records, PRIMARY))).toBe('not shown');
    expect(equivalenceLevel(9)).toBeCloseTo(1 - 0.1 / 9, 12);
    // An arm of 4 patients, however alike its maps, is never called equivalent.
    const few = compare(records.slice(0, 4), PRIMARY, COMPARISONS, margin);
    expect(few.find((c) => c.b === 'gradcam')?.finding).toBe('no difference shown');
    expect(few.every((c) => c.estimate.equivalence === undefined)).toBe(true);
  });

  it('how many patients an arm needs before it can show anything: the test itself says so', () => {
    // The same large, perfectly consistent advantage for SAM on n patients.
    const strongest = (n: number): number => {
      const records = Array.from({ length: n }, (_, i) =>
        record(`s${i}`, `p${i}`, { sam: 0.1 + 0.001 * i, saliency: 0.9 }),
      );
      const [result] = compare(records, PRIMARY, [
        { a: 'sam', b: 'saliency', question: 'SAM vs saliency', result: 1 as const },
        ...Array.from({ length: 8 }, (_, k) => ({
          a: 'sam',
          b: 'saliency',
          question: `copy ${k}`,
          result: 1 as const,
        })),
      ]);
      return result.adjustedP;
    };
    expect(smallestPossibleP(4)).toBe(0.125);
    expect(canShowDifference(4)).toBe(false);
    expect(strongest(4)).toBeGreaterThanOrEqual(ALPHA);
    expect(canShowDifference(8)).toBe(false);
    expect(strongest(8)).toBeGreaterThanOrEqual(ALPHA);
    expect(canShowDifference(9)).toBe(true);
    expect(strongest(9)).toBeLessThan(ALPHA);
  });
});

describe('study measures on hand-made maps', () => {
  const body = new Uint8Array(PIXELS);
  for (let p = 0; p < PIXELS; p++) body[p] = p % INPUT_SIZE >= 32 && p % INPUT_SIZE < 96 ? 1 : 0;
  const bodyCount = body.reduce((a, b) => a + b, 0);

  it('orders by map value and breaks ties at random, not in raster order', () => {
    const map = new Float32Array(PIXELS);
    map[40] = 2;
    map[50] = 1;
    const tieBreak = Float64Array.from({ length: PIXELS }, (_, i) => Math.sin(i * 12.9898) % 1);
    const order = orderByMap(map, body, tieBreak);
    expect(order.length).toBe(bodyCount);
    expect([order[0], order[1]]).toEqual([40, 50]);
    const rest = Array.from(order.slice(2));
    expect(rest).not.toEqual([...rest].sort((a, b) => a - b));
    expect(rest.every((p) => body[p] === 1)).toBe(true);
  });

  it('deletion at 100% and insertion at 0% show the same image; outside the body stays input', () => {
    const order = orderByMap(new Float32Array(PIXELS), body, new Float64Array(PIXELS));
    const deleted = topMask(order, 1, true, body);
    const inserted = topMask(order, 0, false, body);
    expect(Array.from(deleted)).toEqual(Array.from(inserted));
    for (let p = 0; p < PIXELS; p++) expect(deleted[p]).toBe(body[p] ? 0 : 1);
  });

  it('mass, chance and ROC AUC: a perfect map, a blind map', () => {
    const truth = new Uint8Array(PIXELS);
    for (let p = 0; p < PIXELS; p++) truth[p] = body[p] && p < PIXELS / 4 ? 1 : 0;
    const share = truth.reduce((a, b) => a + b, 0) / bodyCount;
    const perfect = groundTruth(Float32Array.from(truth), body, truth);
    expect(perfect).toEqual({ mass: 1, chance: share, auc: 1 });
    const blind = groundTruth(new Float32Array(PIXELS).fill(1), body, truth);
    expect(blind.mass).toBeCloseTo(share, 12);
    expect(blind.auc).toBeCloseTo(0.5, 12);
  });

  it('the tissue-mean baseline replaces body voxels with their mean and leaves the rest', () => {
    const input = Float32Array.from({ length: PIXELS * CHANNELS }, (_, i) => (i % 7) / 7);
    const out = tissueMean(input, [body]);
    const mean = [0, 1, 2].map((k) => {
      let s = 0;
      for (let p = 0; p < PIXELS; p++) if (body[p]) s += input[p * CHANNELS + k];
      return s / bodyCount;
    });
    for (const p of [0, 40, 100, PIXELS - 1])
      for (let k = 0; k < CHANNELS; k++)
        expect(out[p * CHANNELS + k]).toBeCloseTo(body[p] ? mean[k] : input[p * CHANNELS + k], 5);
  });

  it('phase masks follow the generator: arterial has the aorta, delayed the collecting system', () => {
    expect(phaseMaskStructures('arterial')).toContain(S.aorta);
    expect(phaseMaskStructures('arterial')).not.toContain(S.liver);
    expect(phaseMaskStructures('delayed')).toContain(S['collecting system and ureters']);
    expect(phaseMaskStructures('portal-venous')).toContain(
      S['portal and superior mesenteric vein'],
    );
    expect(phaseMaskStructures('non-contrast')).not.toContain(S.muscle);
    expect(phaseMaskStructures('non-contrast')).not.toContain(S['small bowel and colon']);
  });
});
