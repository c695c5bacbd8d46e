/**
 * Figures linked from the README: the four synthetic phases beside the real CT of
 * ../shared/data/real-ct (when present). Run: npm run figures
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { generateCase, type PhantomCase } from '../server/src/phantom/render';
import { PHASES } from '../server/src/domain/phase';
import { S } from '../server/src/phantom/structures';
import { readSeries } from '../server/src/series/read-series';
import type { CtSeries } from '../server/src/series/types';
import { thumbnail, tile } from '../server/src/render/montage';
import { encodePng } from '../server/src/render/png';

const OUT = path.join(__dirname, '..', 'docs', 'images');
const REAL = path.join(__dirname, '..', '..', 'shared', 'data', 'real-ct');
const SIZE = 320;

/** The slice with the most kidney in it: renal hilum level, where phase shows best. */
function kidneySlice(c: PhantomCase): number {
  const size = c.series.rows * c.series.columns;
  let best = 0;
  let most = -1;
  for (let s = 0; s < c.series.slices; s++) {
    let n = 0;
    for (let p = s * size; p < (s + 1) * size; p++) {
      const l = c.labels[p];
      if (l === S['renal cortex'] || l === S['renal medulla']) n++;
    }
    if (n > most) [best, most] = [s, n];
  }
  return best;
}

function nearestSlice(s: CtSeries, z: number): number {
  let best = 0;
  s.geometry.positions.forEach((p, i) => {
    if (Math.abs(p[2] - z) < Math.abs(s.geometry.positions[best][2] - z)) best = i;
  });
  return best;
}

async function main(): Promise<void> {
  await fs.mkdir(OUT, { recursive: true });
  const tiles: Uint8Array[] = [];
  const seconds = { 'non-contrast': undefined, arterial: 35, 'portal-venous': 75, delayed: 420 };
  for (const phase of PHASES) {
    const c = await generateCase('readme', 0, {
      phase,
      seconds: seconds[phase],
      range: 'upper-abdomen',
      sliceThickness: 2.5,
    });
    tiles.push(thumbnail(c.series, kidneySlice(c), SIZE));
  }
  if (existsSync(REAL)) {
    const nc = await readSeries(
      path.join(REAL, 'totalseg-example-non-contrast', 'example_ct.nii.gz'),
    );
    const art = await readSeries(path.join(REAL, 'hcc002-arterial'));
    const pv = await readSeries(path.join(REAL, 'hcc048-portal-venous'));
    tiles.push(thumbnail(nc, Math.round(nc.slices * 0.62), SIZE));
    tiles.push(thumbnail(art, nearestSlice(art, -292.5), SIZE));
    tiles.push(thumbnail(pv, nearestSlice(pv, -328.5), SIZE));
    tiles.push(new Uint8Array(SIZE * SIZE)); // no real delayed series is available
  }
  const m = tile(tiles, SIZE, 4);
  const file = path.join(OUT, 'phantom-vs-real.png');
  await fs.writeFile(file, encodePng(m.pixels, m.width, m.height));
  console.log(`wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
