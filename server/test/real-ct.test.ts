import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { readSeries } from '../src/series/read-series';
import { parseDicomFile } from '../src/series/dicom-file';
import { stringOf } from '../src/series/pixel-module';
import type { InMemorySeries } from '../src/series/types';
import { maxAbsDiff, REAL_CT, tempDir } from './helpers/series';
import { toJpeg2000 } from './helpers/encapsulate';

const present = existsSync(REAL_CT);
if (!present) {
  // Said once, plainly, instead of failing: the real CT lives in ../shared beside the checkout.
  console.warn(
    `real CT tests skipped: ${REAL_CT} is absent (../shared/data/real-ct beside the checkout)`,
  );
}
const describeReal = present ? describe : describe.skip;

/** Mean HU of the brightest homogeneous disc (SD < 40) of `radius` px inside a window of one slice. */
function brightestLumen(
  s: InMemorySeries,
  slice: number,
  window: [number, number, number, number],
  radius: number,
): number {
  const { rows, columns } = s;
  const hu = s.hu.subarray(slice * rows * columns, (slice + 1) * rows * columns);
  const [x0, y0, x1, y1] = window;
  let best = -Infinity;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let sum = 0;
      let sq = 0;
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          if (dx * dx + dy * dy > radius * radius) continue;
          const v = hu[(y + dy) * columns + x + dx];
          sum += v;
          sq += v * v;
          n++;
        }
      }
      const mean = sum / n;
      if (Math.sqrt(Math.max(0, sq / n - mean * mean)) < 40) best = Math.max(best, mean);
    }
  }
  return best;
}

/** Median of the voxels between -1100 and -900 HU: the air around and inside the patient. */
function airMedian(s: InMemorySeries): number {
  const air = s.hu.filter((v) => v > -1100 && v < -900).sort();
  return air[air.length >> 1];
}

function ascending(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]);
}

describeReal('the real CT in ../shared/data/real-ct', () => {
  it('portal-venous HCC_048: 30 slices at 7.5 mm, sorted by position, air near -1000', async () => {
    const dir = path.join(REAL_CT, 'hcc048-portal-venous');
    const s = await readSeries(dir);
    expect([s.slices, s.rows, s.columns]).toEqual([30, 512, 512]);
    expect(s.geometry.sliceSpacing).toBeCloseTo(7.5, 3);
    expect(s.geometry.pixelSpacing).toEqual([0.703125, 0.703125]);
    const z = s.geometry.positions.map((p) => p[2]);
    expect(z[0]).toBeCloseTo(-396);
    expect(z[29]).toBeCloseTo(-178.5);
    expect(ascending(z)).toBe(true);
    // File names are not in anatomical order; the most caudal slice is file 00000087.
    const first = parseDicomFile(
      new Uint8Array(await fs.readFile(path.join(dir, '00000087.dcm'))),
      'first',
    );
    expect(s.instances[0].sopInstanceUid).toBe(stringOf(first.dataset.SOPInstanceUID));
    expect(Math.abs(airMedian(s) + 1000)).toBeLessThan(40);
    expect(s.studyInstanceUid).toBe(
      '1.3.6.1.4.1.14519.5.2.1.1706.8374.191238202133507320458118565112',
    );
  });

  it('arterial HCC_002: 21 slices at 12.5 mm, and an aorta above 200 HU', async () => {
    const s = await readSeries(path.join(REAL_CT, 'hcc002-arterial'));
    expect([s.slices, s.rows, s.columns]).toEqual([21, 512, 512]);
    expect(s.geometry.sliceSpacing).toBeCloseTo(12.5, 3);
    const z = s.geometry.positions.map((p) => p[2]);
    expect([z[0], z[20]]).toEqual([-330, -80]);
    expect(ascending(z)).toBe(true);
    expect(Math.abs(airMedian(s) + 1000)).toBeLessThan(40);
    // The aorta lies just left of the midline, in front of the spine; upper abdomen, z -230 to -155.
    for (const slice of [8, 10, 14]) {
      const lumen = brightestLumen(s, slice, [230, 220, 300, 300], 6);
      expect(lumen).toBeGreaterThan(200);
      expect(lumen).toBeLessThan(500);
    }
  });

  it('non-contrast NIfTI: 122 x 101 x 112 at 3 mm, whole abdomen, air near -1000', async () => {
    const s = await readSeries(
      path.join(REAL_CT, 'totalseg-example-non-contrast', 'example_ct.nii.gz'),
    );
    expect([s.columns, s.rows, s.slices]).toEqual([122, 101, 112]);
    expect(s.geometry.pixelSpacing.map((v) => Number(v.toFixed(3)))).toEqual([3, 3]);
    expect(s.geometry.sliceSpacing).toBeCloseTo(3, 3);
    expect(ascending(s.geometry.positions.map((p) => p[2]))).toBe(true);
    // Coverage: hips to liver dome, 336 mm.
    expect(s.geometry.positions[111][2] - s.geometry.positions[0][2]).toBeCloseTo(333, 0);
    expect(Math.abs(airMedian(s) + 1000)).toBeLessThan(40);
    // Unenhanced: nothing in the central abdomen is a bright homogeneous lumen.
    const lumen = brightestLumen(s, 56, [40, 30, 80, 70], 2);
    expect(lumen).toBeLessThan(150);
  });

  it('the arterial series re-encoded as JPEG 2000 reads to the same HU', async () => {
    const dir = path.join(REAL_CT, 'hcc002-arterial');
    const j2k = path.join(await tempDir(), 'j2k');
    await toJpeg2000(dir, j2k);
    const original = await readSeries(dir);
    const decoded = await readSeries(j2k);
    expect(maxAbsDiff(decoded.hu, original.hu)).toBe(0);
  });
});
