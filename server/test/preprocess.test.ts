import * as tf from '@tensorflow/tfjs';
import {
  CHANNELS,
  INPUT_SIZE,
  informativeSlices,
  preprocessSlice,
} from '../src/model/inference/preprocess';
import { buildPhaseNetwork, CONV_LAYERS, LOGITS_LAYER } from '../src/model/inference/network';
import { enclosedLowDensity } from '../src/model/inference/enclosed';
import { selectBackend } from '../src/model/inference/backend';
import { makeDemoSeries } from '../src/series/demo-series';
import { mapToSourceSlice } from '../src/attribution/series-map';
import type { InMemorySeries, Orientation, Vec3 } from '../src/series/types';

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** The same anatomy stored prone-style: both in-plane axes reversed, pixels flipped to match. */
function flipped(series: InMemorySeries): InMemorySeries {
  const { rows: R, columns: C, slices } = series;
  const hu = new Float32Array(series.hu.length);
  for (let s = 0; s < slices; s++)
    for (let r = 0; r < R; r++)
      for (let c = 0; c < C; c++)
        hu[(s * R + r) * C + c] = series.hu[(s * R + (R - 1 - r)) * C + (C - 1 - c)];
  const [ps] = series.geometry.pixelSpacing;
  const positions = series.geometry.positions.map(
    (p) => [p[0] + (C - 1) * ps, p[1] + (R - 1) * ps, p[2]] as Vec3,
  );
  const orientation: Orientation = [-1, 0, 0, 0, -1, 0];
  return { ...series, hu, geometry: { ...series.geometry, positions, orientation } };
}

describe('preprocessing: the same anatomy gives the same network input', () => {
  const base = makeDemoSeries({ rows: 128, columns: 128, slices: 3, pixelSpacing: 3, seed: 'pre' });
  const input = preprocessSlice(base, 1);

  it('has the fixed size, channels in [0, 1], and the body in the middle', () => {
    expect(input.data.length).toBe(INPUT_SIZE * INPUT_SIZE * CHANNELS);
    expect(Math.min(...input.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...input.data)).toBeLessThanOrEqual(1);
    const centre = ((INPUT_SIZE / 2) * INPUT_SIZE + INPUT_SIZE / 2) * CHANNELS;
    expect(input.data[centre]).toBeGreaterThan(0.1); // soft tissue, not air
    expect(input.data[0]).toBe(0); // a corner: air
  });

  it('whatever the stored orientation (prone, axes reversed)', () => {
    const other = preprocessSlice(flipped(base), 1);
    // Stored the wrong way round, the same pixels differ by about 0.02.
    expect(meanAbsDiff(other.data, input.data)).toBeLessThan(0.002);
  });

  it('whatever the pixel size (FOV fixed in mm)', () => {
    const coarse = makeDemoSeries({
      rows: 64,
      columns: 64,
      slices: 3,
      pixelSpacing: 6,
      seed: 'pre',
    });
    expect(meanAbsDiff(preprocessSlice(coarse, 1).data, input.data)).toBeLessThan(0.03);
  });

  it('wherever the patient lies in the scanner', () => {
    const moved = {
      ...base,
      geometry: {
        ...base.geometry,
        positions: base.geometry.positions.map((p) => [p[0] + 31, p[1] - 17, p[2]] as Vec3),
      },
    };
    expect(meanAbsDiff(preprocessSlice(moved, 1).data, input.data)).toBeLessThan(0.002);
  });

  it('keeps slices with body and drops empty ones', () => {
    const empty = { ...base, hu: base.hu.map((v, i) => (i < 128 * 128 ? -1000 : v)) };
    const slices = [0, 1, 2].map((s) => preprocessSlice(empty, s));
    expect(informativeSlices(slices).map((s) => s.slice)).toEqual([1, 2]);
    expect(informativeSlices([...slices, ...slices, ...slices], 2)).toHaveLength(2);
  });
});

describe('lung or gas the body encloses', () => {
  // 12 x 12: air around a body block (rows and columns 2-9) holding a 4 x 4 pocket of lung
  // density; `channel` fills column 5 from the top edge into the pocket.
  const grid = (channel: number): Float32Array => {
    const hu = new Float32Array(144).fill(-1000);
    for (let r = 2; r <= 9; r++) for (let c = 2; c <= 9; c++) hu[r * 12 + c] = 0;
    for (let r = 4; r <= 7; r++) for (let c = 4; c <= 7; c++) hu[r * 12 + c] = -800;
    for (let r = 0; r <= 3; r++) hu[r * 12 + 5] = channel;
    return hu;
  };

  it('counts a sealed pocket, not one open to the outside air, whatever HU the opening holds', () => {
    expect(enclosedLowDensity(grid(0), 12, 12, 1, 100)).toBe(16);
    expect(enclosedLowDensity(grid(-1000), 12, 12, 1, 100)).toBe(0);
    // A float volume can hold -Infinity: below body density, so outside air reaches through it.
    expect(enclosedLowDensity(grid(-Infinity), 12, 12, 1, 100)).toBe(0);
  });
});

describe('the phase network', () => {
  it('is five conv blocks with global average pooling and a dense layer, about 245k parameters', async () => {
    await selectBackend(() => undefined);
    const model = buildPhaseNetwork();
    expect(model.countParams()).toBeGreaterThan(240000);
    expect(model.countParams()).toBeLessThan(250000);
    for (const name of CONV_LAYERS) expect(model.getLayer(name).getClassName()).toBe('Conv2D');
    expect(model.getLayer('gap').getClassName()).toBe('GlobalAveragePooling2D');
    expect(model.getLayer(LOGITS_LAYER).getClassName()).toBe('Dense');
    const out = tf.tidy(
      () =>
        (
          model.predict(tf.zeros([2, INPUT_SIZE, INPUT_SIZE, CHANNELS])) as tf.Tensor
        ).arraySync() as number[][],
    );
    expect(out).toHaveLength(2);
    out.forEach((p) => expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    model.dispose();
  });
});

describe('maps back on the source CT grid', () => {
  // The input's own soft-tissue channel, taken as a "map" and sent back to the CT grid, must be the
  // source's soft-tissue window again (up to the resampling blur), whatever the orientation.
  it.each([
    ['supine', (s: InMemorySeries): InMemorySeries => s],
    ['axes reversed', flipped],
  ])('%s', (_name, orient) => {
    const series = orient(
      makeDemoSeries({ rows: 128, columns: 128, slices: 3, pixelSpacing: 3, seed: 'back' }),
    );
    const pre = preprocessSlice(series, 1);
    const map = new Float32Array(INPUT_SIZE * INPUT_SIZE);
    for (let p = 0; p < map.length; p++) map[p] = pre.data[p * CHANNELS];
    const out = new Float32Array(series.rows * series.columns);
    mapToSourceSlice(map, pre, series, out);
    const plane = series.rows * series.columns;
    const source = series.hu.subarray(plane, 2 * plane);
    let err = 0;
    let n = 0;
    for (let r = 8; r < series.rows - 8; r++)
      for (let c = 8; c < series.columns - 8; c++) {
        const w = Math.min(1, Math.max(0, (source[r * series.columns + c] + 160) / 400));
        err += Math.abs(out[r * series.columns + c] - w);
        n++;
      }
    expect(err / n).toBeLessThan(0.05);
  });
});
