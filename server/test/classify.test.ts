import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { selectBackend } from '../src/model/inference/backend';
import { buildPhaseNetwork } from '../src/model/inference/network';
import { classifySeries, classifyPreprocessed } from '../src/model/inference/classify';
import { loadModel, saveModel } from '../src/model/inference/weights-io';
import { preprocessSlice } from '../src/model/inference/preprocess';
import { makeDemoSeries } from '../src/series/demo-series';
import { tempDir } from './helpers/series';

describe('series classification', () => {
  beforeAll(async () => {
    await selectBackend(() => undefined);
  });

  it('saves and loads weights without tfjs-node, giving the same outputs', async () => {
    const model = buildPhaseNetwork(3);
    const dir = path.join(await tempDir(), 'model');
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const series = makeDemoSeries({ rows: 64, columns: 64, slices: 4, seed: 'io' });
    const a = await classifySeries(model, series);
    const b = await classifySeries(loaded, series);
    expect(b.probabilities).toEqual(a.probabilities);
    model.dispose();
    loaded.dispose();
  });

  it('decides by the slices together: the mean of their probabilities', async () => {
    const series = makeDemoSeries({ rows: 64, columns: 64, slices: 3, seed: 'vote' });
    const slices = [0, 1, 2].map((s) => preprocessSlice(series, s));
    // A stand-in "model" whose output per slice is fixed, to check the aggregation alone.
    const fixed = [
      [0.7, 0.1, 0.1, 0.1],
      [0.4, 0.5, 0.05, 0.05],
      [0.6, 0.2, 0.1, 0.1],
    ];
    const model = { predict: () => tf.tensor2d(fixed) } as unknown as tf.LayersModel;
    const d = await classifyPreprocessed(model, slices);
    const mean = [0, 1, 2, 3].map((k) => fixed.reduce((p, row) => p + row[k], 0) / 3);
    expect(d.phase).toBe('non-contrast');
    expect(d.probabilities['non-contrast']).toBeCloseTo(mean[0], 6);
    expect(d.probabilities.arterial).toBeCloseTo(mean[1], 6);
    expect(d.slices.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(d.slices[1].probabilities.arterial).toBeCloseTo(0.5, 6);
    // A higher temperature softens the decision, never changes it.
    const soft = await classifyPreprocessed(model, slices, 3);
    expect(soft.phase).toBe(d.phase);
    expect(soft.confidence).toBeLessThan(d.confidence);
  });
});
