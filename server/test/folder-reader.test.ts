import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readSeries } from '../src/series/read-series';
import { makeDemoSeries } from '../src/series/demo-series';
import {
  ctSliceDatasets,
  encodePart10,
  writeCtSeries,
  defaultCtEncoding,
} from '../src/series/write-ct';
import { TransferSyntax } from '../src/series/transfer-syntax';
import { MixedSeriesError, UnsupportedModalityError } from '../src/errors';
import { maxAbsDiff, tempDir, withPositions } from './helpers/series';
import { deterministicUid } from '../src/util/uid';

describe('reading a folder of CT files', () => {
  const series = makeDemoSeries({ rows: 32, columns: 40, slices: 9, noiseHu: 15, seed: 'folder' });

  it.each([
    ['signed, intercept -1024', { pixelRepresentation: 1 as const, rescaleIntercept: -1024 }],
    ['unsigned, intercept -1024', { pixelRepresentation: 0 as const, rescaleIntercept: -1024 }],
    ['signed, intercept 0', { pixelRepresentation: 1 as const, rescaleIntercept: 0 }],
    [
      'unsigned 12-bit, intercept -1024',
      { pixelRepresentation: 0 as const, rescaleIntercept: -1024, bitsStored: 12 },
    ],
    [
      'signed 12-bit, intercept 0',
      { pixelRepresentation: 1 as const, rescaleIntercept: 0, bitsStored: 12 },
    ],
    ['implicit VR', { transferSyntaxUid: TransferSyntax.ImplicitVRLittleEndian }],
    ['slope 0.5', { rescaleSlope: 0.5, rescaleIntercept: -1024, pixelRepresentation: 0 as const }],
  ])('gives back the exact HU written (%s)', async (_name, over) => {
    const dir = await tempDir();
    const encoding = { ...defaultCtEncoding, ...over };
    await writeCtSeries(series, dir, encoding);
    const read = await readSeries(dir);
    expect(read.slices).toBe(series.slices);
    expect(read.rows).toBe(32);
    expect(read.columns).toBe(40);
    expect(maxAbsDiff(read.hu, series.hu)).toBe(0);
    // Whole-number HU are held in 16 bits (half the memory); a fractional slope keeps float32.
    expect(read.hu).toBeInstanceOf(encoding.rescaleSlope === 1 ? Int16Array : Float32Array);
    expect(read.geometry.sliceSpacing).toBeCloseTo(5, 6);
    expect(read.geometry.pixelSpacing).toEqual([6, 6]);
    expect(read.instances.map((i) => i.sopInstanceUid)).toEqual(
      series.instances.map((i) => i.sopInstanceUid),
    );
  });

  it('whole-number HU beyond the 16-bit range saturate, never wrap around', async () => {
    const dir = await tempDir();
    const bright = { ...series, hu: Float32Array.from(series.hu) };
    bright.hu[5] = 40000; // more than any CT holds, in an unsigned 16-bit encoding
    await writeCtSeries(bright, dir, {
      ...defaultCtEncoding,
      pixelRepresentation: 0,
      rescaleIntercept: 0,
    });
    const read = await readSeries(dir);
    expect(read.hu).toBeInstanceOf(Int16Array);
    expect(read.hu[5]).toBe(32767);
  });

  it('sorts slices along the normal, not by InstanceNumber or file name', async () => {
    const dir = await tempDir();
    // Reverse the z positions: instance 1 is now the most cranial slice.
    const reversed = withPositions(
      series,
      series.geometry.positions.map((p, i) => [p[0], p[1], 100 - 5 * i]),
    );
    await writeCtSeries(reversed, dir);
    const read = await readSeries(dir);
    const size = series.rows * series.columns;
    for (let s = 0; s < series.slices; s++) {
      const expected = series.hu.subarray(
        (series.slices - 1 - s) * size,
        (series.slices - s) * size,
      );
      expect(maxAbsDiff(read.hu.subarray(s * size, (s + 1) * size), expected)).toBe(0);
    }
    const z = read.geometry.positions.map((p) => p[2]);
    expect(z).toEqual([...z].sort((a, b) => a - b));
  });

  it('sorts a feet-up orientation (normal pointing down) along its own normal', async () => {
    const dir = await tempDir();
    // Column direction flipped: the normal is -z, so ascending order along it is descending z.
    const flipped = {
      ...series,
      geometry: {
        ...series.geometry,
        orientation: [1, 0, 0, 0, -1, 0] as [number, number, number, number, number, number],
      },
    };
    await writeCtSeries(flipped, dir);
    const read = await readSeries(dir);
    const z = read.geometry.positions.map((p) => p[2]);
    expect(z).toEqual([...z].sort((a, b) => b - a));
  });

  it('reads only the slices asked for', async () => {
    const dir = await tempDir();
    await writeCtSeries(series, dir);
    const read = await readSeries(dir, {
      select: (z) => z.map((_, i) => i).filter((i) => i % 4 === 0),
    });
    expect(read.slices).toBe(3);
    const size = series.rows * series.columns;
    [0, 4, 8].forEach((src, dst) =>
      expect(
        maxAbsDiff(
          read.hu.subarray(dst * size, (dst + 1) * size),
          series.hu.subarray(src * size, (src + 1) * size),
        ),
      ).toBe(0),
    );
    expect(read.geometry.sliceSpacing).toBeCloseTo(20, 6);
  });

  it('refuses a folder holding two CT series and names both', async () => {
    const dir = await tempDir();
    const other = makeDemoSeries({ rows: 32, columns: 40, slices: 3, seed: 'other' });
    await writeCtSeries(series, path.join(dir, 'a'));
    await writeCtSeries({ ...other, header: { SeriesDescription: 'Second' } }, path.join(dir, 'b'));
    const attempt = readSeries(dir);
    await expect(attempt).rejects.toBeInstanceOf(MixedSeriesError);
    await expect(attempt).rejects.toThrow(series.seriesInstanceUid);
    await expect(attempt).rejects.toThrow(/"Second"/);
    const chosen = await readSeries(dir, { seriesInstanceUid: other.seriesInstanceUid });
    expect(chosen.slices).toBe(3);
  });

  it('says when one series holds two acquisitions at the same positions, and reads one on request', async () => {
    const dir = await tempDir();
    const acq2 = {
      ...series,
      hu: series.hu.map((v) => v + 100),
      instances: series.instances.map((_, i) => ({
        sopInstanceUid: deterministicUid('acq2', i),
        sopClassUid: '',
      })),
      header: { ...series.header, AcquisitionNumber: 2 },
    };
    await writeCtSeries(series, dir);
    await writeCtSeries(acq2, dir);
    await expect(readSeries(dir)).rejects.toThrow(/2 acquisitions .*AcquisitionNumber 1, 2/);
    const second = await readSeries(dir, { acquisitionNumber: 2 });
    expect(maxAbsDiff(second.hu, acq2.hu)).toBe(0);
  });

  it('skips stray non-DICOM files but refuses a folder with no CT', async () => {
    const dir = await tempDir();
    await writeCtSeries(series, dir);
    await fs.writeFile(path.join(dir, 'README.txt'), 'not an image');
    expect((await readSeries(dir)).slices).toBe(series.slices);

    const mr = await tempDir();
    const [ds] = ctSliceDatasets(series);
    await fs.writeFile(
      path.join(mr, 'mr.dcm'),
      new Uint8Array(
        encodePart10({ ...ds, Modality: 'MR' }, TransferSyntax.ExplicitVRLittleEndian),
      ),
    );
    await expect(readSeries(mr)).rejects.toBeInstanceOf(UnsupportedModalityError);
    await expect(readSeries(mr)).rejects.toThrow(/no CT series.*MR/);
  });

  it('keeps the header modules for derived objects', async () => {
    const dir = await tempDir();
    await writeCtSeries(series, dir);
    const read = await readSeries(dir);
    expect(read.header.PatientID).toBe('PHASELENS-DEMO');
    expect(read.header.StudyInstanceUID).toBe(series.studyInstanceUid);
    expect(read.header.Modality).toBe('CT');
    expect(read.frameOfReferenceUid).toBe(series.frameOfReferenceUid);
  });
});
