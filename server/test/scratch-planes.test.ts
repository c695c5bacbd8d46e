import { spawn } from 'node:child_process';
import { promises as fs, readdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { ScratchSpaceError, SeriesTooLargeError } from '../src/errors';
import { ScratchSpace, planeOf } from '../src/util/planes';
import { positiveQuantile, positiveQuantileOfPlanes } from '../src/render/colormap';
import { InputGridMap } from '../src/attribution/series-map';
import { INPUT_SIZE } from '../src/model/inference/preprocess';
import { assembleSeries } from '../src/series/assemble';
import { parseDicomFile } from '../src/series/dicom-file';
import { sliceRecordsOf } from '../src/series/slice-record';
import { makeDemoSeries } from '../src/series/demo-series';
import { ctSliceDatasets, defaultCtEncoding, encodePart10 } from '../src/series/write-ct';
import { sliceView, type CtSeries } from '../src/series/types';
import { seededRandom } from '../src/util/random';
import { tempDir } from './helpers/series';

describe('scratch planes (a long series kept on disk, memory flat)', () => {
  it('gives back each plane as written, 16-bit and float, one plane or several at once', async () => {
    const dir = await tempDir();
    const space = new ScratchSpace(dir);
    const ints = space.planes(Int16Array, 5, 7, 'test');
    const floats = space.planes(Float32Array, 4, 3, 'test');
    const random = seededRandom('3');
    const i16 = Int16Array.from({ length: 35 }, () => Math.round((random() - 0.5) * 60000));
    const f32 = Float32Array.from({ length: 12 }, () => random() * 1e6 - 5e5);
    ints.write(0, i16.subarray(0, 14)); // planes 0 and 1 at once
    for (let p = 2; p < 5; p++) ints.write(p, i16.subarray(p * 7, (p + 1) * 7));
    floats.write(0, f32);
    for (let p = 0; p < 5; p++) expect(ints.read(p)).toEqual(i16.subarray(p * 7, (p + 1) * 7));
    // A plane never written is a fault, not a plane of zeros.
    const unwritten = space.planes(Float32Array, 2, 3, 'test');
    unwritten.write(0, new Float32Array(3));
    expect(() => unwritten.read(1)).toThrow(/plane 1 read before it was written/);
    for (let p = 0; p < 4; p++)
      expect(planeOf(floats, 3, p)).toEqual(f32.subarray(p * 3, p * 3 + 3));
    // The files have no name: nothing to clean up, whatever way the process ends.
    expect(readdirSync(dir)).toEqual([]);
    space.close();
    expect(() => ints.read(0)).toThrow(/read or written after their analysis ended/);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses writes and reads outside the stack, and the wrong element type', async () => {
    const space = new ScratchSpace(await tempDir());
    const planes = space.planes(Float32Array, 2, 4, 'test');
    expect(() => planes.write(1, new Float32Array(8))).toThrow(RangeError);
    expect(() => planes.write(0, new Float32Array(3))).toThrow(RangeError);
    expect(() => planes.read(2)).toThrow(RangeError);
    expect(() => planes.write(0, new Int16Array(4))).toThrow(TypeError);
    space.close();
  });

  it('refuses, with a typed error naming the setting, more than the limit or the disk holds', async () => {
    const dir = await tempDir();
    const space = new ScratchSpace(dir, 10 * 2 ** 20);
    space.reserve(8 * 2 ** 20, 'the HU');
    // A reservation is used by the planes made later, not counted twice.
    space.planes(Float32Array, 2, 2 ** 20, 'maps');
    expect(() => space.planes(Float32Array, 1, 2 ** 20, 'one more map')).toThrow(
      /one more map needs 4 MB of scratch space, over what is left of the 10 MB one analysis may use \(2 MB\); raise PHASELENS_SCRATCH_MB/,
    );
    const big = new ScratchSpace(dir);
    const error = (() => {
      try {
        big.reserve(2 ** 60, 'a huge series');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SeriesTooLargeError);
    expect((error as Error).message).toMatch(
      /^a huge series needs \d+ MB of scratch space, and the scratch folder \(PHASELENS_SCRATCH_DIR\) has \d+ MB free, 256 MB of which stay in reserve$/,
    );
    // A folder that fails the service is its administrator's matter, not the series' size.
    const gone = new ScratchSpace(`${dir}/missing`);
    expect(() => gone.reserve(1, 'x')).toThrow(ScratchSpaceError);
    expect(() => gone.planes(Float32Array, 1, 1, 'x')).toThrow(
      /^the scratch folder \(PHASELENS_SCRATCH_DIR\) is not usable \(ENOENT\)/,
    );
    space.close();
  });

  it('counts what analyses running beside it (other processes, other folders of the same disk) have reserved and not written', async () => {
    const dir = await tempDir();
    const sibling = await tempDir();
    const free = (): number => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    };
    const share = Math.floor(free() * 0.6);
    // Another analysis, in its own process, reserves 60% of the free space (a sparse file: no
    // block is taken until written) and holds it until its input ends.
    const other = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { ScratchSpace } = require(${JSON.stringify(path.resolve(__dirname, '../src/util/planes'))});
         const space = new ScratchSpace(${JSON.stringify(dir)});
         space.reserve(${share}, 'the other analysis');
         process.stdout.write('reserved\\n');
         process.stdin.on('end', () => space.close()).resume();`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const mine = new ScratchSpace(dir);
    const elsewhere = new ScratchSpace(sibling);
    try {
      await new Promise<void>((resolve, reject) => {
        other.stdout.on('data', (d: Buffer) => d.toString().includes('reserved') && resolve());
        other.once('exit', (code) => reject(new Error(`the other analysis exited with ${code}`)));
      });
      for (const [space, what] of [
        [mine, 'this analysis'],
        [elsewhere, 'one in another folder'],
      ] as const) {
        let refused: unknown;
        try {
          space.reserve(share, what);
        } catch (error) {
          refused = error;
        }
        // Not the series' fault: a retry once the other analysis ends succeeds.
        expect(refused).toBeInstanceOf(ScratchSpaceError);
        expect((refused as Error).message).toMatch(
          new RegExp(
            `^${what} needs \\d+ MB of scratch space, and of the \\d+ MB free in the scratch folder \\(PHASELENS_SCRATCH_DIR\\) analyses running now hold \\d+ MB; try again when they have finished$`,
          ),
        );
      }
      // A little fits beside it; all of it once the other analysis has ended.
      mine.reserve(2 ** 20, 'a small series');
      other.stdin.end();
      await new Promise((resolve) => other.once('exit', resolve));
      mine.reserve(share, 'this analysis');
    } finally {
      other.kill();
      mine.close();
      elsewhere.close();
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(sibling, { recursive: true, force: true });
    }
  }, 60_000);

  it('gives the same map colour scale read plane by plane as from one array', () => {
    const random = seededRandom('11');
    for (const [planes, size] of [
      [3, 5],
      [40, 16384],
      [7, 33333],
    ]) {
      const all = Float32Array.from({ length: planes * size }, () => random() - 0.3);
      const split = Array.from({ length: planes }, (_, k) =>
        all.subarray(k * size, (k + 1) * size),
      );
      expect(positiveQuantileOfPlanes(split, all.length, 0.995)).toBe(positiveQuantile(all, 0.995));
    }
  });

  it('reads a series into scratch with the same HU, and maps from scratch with the same values', async () => {
    const series = makeDemoSeries({ rows: 24, columns: 20, slices: 6, noiseHu: 20, seed: 'scr' });
    const records = (encoding: typeof defaultCtEncoding) =>
      ctSliceDatasets(series, encoding).flatMap((ds, i) => {
        const parsed = parseDicomFile(
          new Uint8Array(encodePart10(ds, encoding.transferSyntaxUid)),
          `slice ${i}`,
        );
        return sliceRecordsOf(parsed.dataset, `slice ${i}`, async (f) => ({
          bytes: parsed.frames[f],
          transferSyntaxUid: parsed.transferSyntaxUid,
        }));
      });
    const dir = await tempDir();
    for (const encoding of [defaultCtEncoding, { ...defaultCtEncoding, rescaleSlope: 0.5 }]) {
      const source = { kind: 'files' as const, location: 'test' };
      const inMemory = await assembleSeries(records(encoding), source);
      const space = new ScratchSpace(dir);
      const spilled: CtSeries = await assembleSeries(records(encoding), source, {
        scratch: space,
        concurrency: 3,
      });
      expect(spilled.hu).not.toBeInstanceOf(Int16Array);
      expect(spilled.hu).not.toBeInstanceOf(Float32Array);
      for (let s = 0; s < series.slices; s++) {
        const a = sliceView(spilled, s);
        expect(a.constructor).toBe(inMemory.hu.constructor);
        expect(a).toEqual(sliceView(inMemory, s));
      }
      // A map's planes from scratch: the same maximum, scale and values on the CT grid.
      const plane = INPUT_SIZE * INPUT_SIZE;
      const values = Float32Array.from({ length: series.slices * plane }, (_, i) =>
        Math.sin(i / 97),
      );
      const scratchPlanes = space.planes(Float32Array, series.slices, plane, 'map');
      scratchPlanes.write(0, values);
      const frames = Array.from({ length: series.slices }, (_, slice) => ({
        slice,
        centre: [0, 0, slice * 5] as [number, number, number],
        spacing: 0.2,
      }));
      const a = new InputGridMap('sam', undefined, 'arterial', values, frames, inMemory);
      const b = new InputGridMap('sam', undefined, 'arterial', scratchPlanes, frames, spilled);
      expect(b.max).toBe(a.max);
      expect(b.scale).toBe(a.scale);
      for (let s = 0; s < series.slices; s++) expect(b.sliceValues(s)).toEqual(a.sliceValues(s));
      space.close();
      expect(readdirSync(dir)).toEqual([]);
    }
    await fs.rm(dir, { recursive: true, force: true });
  });
});
