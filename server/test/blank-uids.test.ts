import { promises as fs } from 'node:fs';
import path from 'node:path';
import { main } from '../src/cli/main';
import { generateCase } from '../src/phantom/render';
import { readSeries } from '../src/series/read-series';
import { ctSliceDatasets, encodePart10 } from '../src/series/write-ct';
import { tempDir } from './helpers/series';

describe('a CT series with blank Study and Series Instance UIDs', () => {
  let dir: string;
  beforeAll(async () => {
    const c = await generateCase('blank-uids', 2, { matrix: 128, slices: 24, sliceThickness: 5 });
    dir = await tempDir();
    for (const [i, ds] of ctSliceDatasets(c.series).entries()) {
      ds.StudyInstanceUID = '';
      ds.SeriesInstanceUID = '';
      await fs.writeFile(
        path.join(dir, `${i}.dcm`),
        new Uint8Array(encodePart10(ds, '1.2.840.10008.1.2.1')),
      );
    }
  });

  it('is read by its geometry, with a warning', async () => {
    const series = await readSeries(dir);
    expect(series.slices).toBe(24);
    expect(series.studyInstanceUid).toBe('');
    expect(series.warnings).toEqual([
      'StudyInstanceUID and SeriesInstanceUID blank: read by geometry alone; derived objects cannot reference this series',
    ]);
  });

  it('is classified, and the warning is part of the answer', async () => {
    let out = '';
    const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
    expect(await main(['classify', dir, '--json'], sink, sink)).toBe(0);
    const json = JSON.parse(out) as { phase: string; warnings: string[] };
    expect(json.warnings[0]).toMatch(/^StudyInstanceUID and SeriesInstanceUID blank/);
    expect(['non-contrast', 'arterial', 'portal-venous', 'delayed', 'indeterminate']).toContain(
      json.phase,
    );
  });
});
