import * as tf from '@tensorflow/tfjs';
import { explainSeries } from '../src/attribution/explain-series';
import { METHODS } from '../src/attribution/index';
import { mapToSourceSlice } from '../src/attribution/series-map';
import { MapSecondaryCapture } from '../src/derived/secondary-capture';
import { PHASES } from '../src/domain/phase';
import { selectBackend } from '../src/model/inference/backend';
import {
  batchOf,
  classifySlicesByMember,
  decisionSlices,
  explainingMember,
  graphOf,
} from '../src/model/inference/classify';
import { buildPhaseNetwork } from '../src/model/inference/network';
import type { ModelMetadata, PhaseModel } from '../src/model/inference/phase-model';
import { FOV_MM, INPUT_SIZE, WINDOWS } from '../src/model/inference/preprocess';
import { generateCase } from '../src/phantom/render';

function tinyModel(seed: number, name: string): PhaseModel {
  const metadata: ModelMetadata = {
    name,
    version: '0.0.0',
    temperature: 1,
    input: { size: INPUT_SIZE, fovMm: FOV_MM, windows: WINDOWS.map((w) => [w[0], w[1]]) },
    training: {},
  };
  return { network: buildPhaseNetwork(seed), metadata };
}

describe('maps of an ensemble', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  it('picks the member that gives the phase the most support over the decision slices', () => {
    // Member 0 leads with arterial, member 1 gives delayed more than member 0 does.
    const memberSlices = [
      [
        [0.1, 0.6, 0.2, 0.1],
        [0.1, 0.5, 0.2, 0.2],
      ],
      [
        [0.1, 0.2, 0.2, 0.5],
        [0.2, 0.3, 0.1, 0.4],
      ],
    ];
    expect(explainingMember(memberSlices, 'delayed')).toBe(1);
    expect(explainingMember(memberSlices, 'arterial')).toBe(0);
  });

  it('explains the member most for the target, not the first, and names it', async () => {
    const a = tinyModel(31, 'a');
    const b = tinyModel(32, 'b');
    const ensemble: PhaseModel = {
      network: a.network,
      metadata: { ...a.metadata, name: 'pair', members: ['members/a', 'members/b'] },
      members: [a, b],
    };
    const c = await generateCase('explain-member', 1, { matrix: 96, slices: 12 });
    const chosen = decisionSlices(c.series);
    const { memberSlices } = await classifySlicesByMember(ensemble, c.series, chosen);
    // The phase member b favours most over member a: b supports it more, so b explains it.
    const support = memberSlices.map((m) =>
      PHASES.map((_, k) => m.reduce((s, p) => s + p[k], 0) / m.length),
    );
    const target =
      PHASES[
        support[1]
          .map((v, k) => v - support[0][k])
          .reduce((best, d, k, all) => (d > all[best] ? k : best), 0)
      ];
    const { maps, explainedBy, result } = await explainSeries(ensemble, c.series, {
      methods: [METHODS.cam],
      target,
    });
    expect(explainedBy).toBe('members/b');
    // The map says which network it explains, and so does its Secondary Capture.
    expect(maps[0].network).toBe('members/b');
    const sc = new MapSecondaryCapture(c.series, maps[0], result);
    expect(sc.dataset(0).DerivationDescription).toMatch(/ of network members\/b,/);
    // The map is member b's own CAM for that phase on a slice, not member a's.
    const slice = chosen[0];
    const own = (m: PhaseModel): Float32Array =>
      tf
        .tidy(() => METHODS.cam.explain(graphOf(m), batchOf([slice]), PHASES.indexOf(target), {}))
        .dataSync() as Float32Array;
    const got = maps[0].sliceValues(slice.slice);
    const onCtGrid = (input: Float32Array): Float32Array => {
      const out = new Float32Array(got.length);
      mapToSourceSlice(input, slice, c.series, out);
      return out;
    };
    const diff = (x: Float32Array): number =>
      onCtGrid(x).reduce((worst, v, i) => Math.max(worst, Math.abs(v - got[i])), 0);
    expect(diff(own(b))).toBeLessThan(1e-5);
    expect(diff(own(a))).toBeGreaterThan(1e-3);
    a.network.dispose();
    b.network.dispose();
  });
});
