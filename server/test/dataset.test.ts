import { promises as fs } from 'node:fs';
import path from 'node:path';
import { labelledFolder, SliceSet } from '../src/model/training/dataset';
import { InvalidInputError } from '../src/errors';
import { makeDemoSeries } from '../src/series/demo-series';
import { writeCtSeries } from '../src/series/write-ct';
import { tempDir } from './helpers/series';

describe('labelled series for training and evaluation', () => {
  it('reads labels.csv with paths relative to its folder and phase aliases', async () => {
    const dir = await tempDir();
    const series = makeDemoSeries({ rows: 16, columns: 16, slices: 3, seed: 'ds' });
    await writeCtSeries(series, path.join(dir, 'a'));
    await fs.writeFile(
      path.join(dir, 'labels.csv'),
      'path,phase,notes\na,Portal venous,x\nb,native,y\n',
    );
    const list = await labelledFolder(dir);
    expect(list.map((s) => s.phase)).toEqual(['portal-venous', 'non-contrast']);
    const loaded = await list[0].load();
    expect(loaded.seriesInstanceUid).toBe(series.seriesInstanceUid);
  });

  it('refuses unknown phases and missing columns with the file and line', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'labels.csv'), 'path,phase\na,venous\nb,hepatobiliary\n');
    await expect(labelledFolder(dir)).rejects.toThrow(
      /labels\.csv line 3: unknown phase "hepatobiliary"/,
    );
    await fs.writeFile(path.join(dir, 'labels.csv'), 'file,label\na,arterial\n');
    await expect(labelledFolder(dir)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(labelledFolder(path.join(dir, 'missing'))).rejects.toThrow(/no labels\.csv/);
  });

  it('stores slices as bytes within half a step of the float values', () => {
    const set = new SliceSet();
    const data = Float32Array.from({ length: 128 * 128 * 3 }, (_, i) => (i % 1000) / 999);
    set.add('s', 'arterial', [data]);
    const back = set.values(0);
    let worst = 0;
    for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(back[i] - data[i]));
    expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-7);
    expect(set.labels).toEqual([1]);
    expect(set.bySeries()).toEqual([[0]]);
  });

  it('saves and loads a slice set unchanged', async () => {
    const set = new SliceSet();
    const slice = (v: number): Float32Array => new Float32Array(128 * 128 * 3).fill(v);
    set.add('a', 'delayed', [slice(0.2), slice(0.4)]);
    set.add('b', 'non-contrast', [slice(0.9)]);
    const file = path.join(await tempDir(), 'set.slices');
    await set.save(file);
    const back = await SliceSet.load(file);
    expect(back.labels).toEqual([3, 3, 0]);
    expect(back.seriesIds).toEqual(['a', 'b']);
    expect(back.bySeries()).toEqual([[0, 1], [2]]);
    expect(Array.from(back.slices[2])).toEqual(Array.from(set.slices[2]));
  });
});
