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
import {
  InconsistentGeometryError,
  InvalidInputError,
  MissingPixelDataError,
  NotDicomError,
  NotFoundError,
  PhaseLensError,
  TruncatedFileError,
  UnsupportedModalityError,
  UnsupportedTransferSyntaxError,
} from '../src/errors';
import { runTool, tempDir, withPositions } from './helpers/series';
import type { NaturalDataset } from 'dcmjs';

const series = makeDemoSeries({ rows: 16, columns: 20, slices: 5, seed: 'bad' });

async function folderOf(
  datasets: NaturalDataset[],
  syntax: string = TransferSyntax.ExplicitVRLittleEndian,
): Promise<string> {
  const dir = await tempDir();
  for (const [i, ds] of datasets.entries()) {
    await fs.writeFile(path.join(dir, `${i}.dcm`), new Uint8Array(encodePart10(ds, syntax)));
  }
  return dir;
}

/** Reads and returns the typed error, checking it is one line and maps to exit code 2. */
async function failure(
  source: string,
  type: new (...args: never[]) => PhaseLensError,
): Promise<PhaseLensError> {
  const error = await readSeries(source).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  const e = error as PhaseLensError;
  expect(e.message).not.toMatch(/\n/);
  expect(e.exitCode).toBe(2);
  return e;
}

describe('bad input gives a typed, one-line error', () => {
  it('a file that is not DICOM', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'notes.txt');
    await fs.writeFile(file, 'hello '.repeat(100));
    expect((await failure(file, NotDicomError)).message).toMatch(/not a DICOM file/);
    expect((await failure(dir, NotDicomError)).message).toMatch(/no DICOM files found/);
  });

  it.each([
    [
      'PixelSpacing 0\\0',
      { PixelSpacing: [0, 0] },
      /PixelSpacing 0\\0 mm is not a CT pixel spacing/,
    ],
    [
      'PixelSpacing 1e30',
      { PixelSpacing: [1e30, 1e30] },
      /is not a CT pixel spacing \(0\.05 to 10 mm\)$/,
    ],
    [
      'RescaleSlope 1e38',
      { RescaleSlope: 1e38 },
      /RescaleSlope 1e\+38 .* do not give Hounsfield units/,
    ],
    [
      'RescaleIntercept -1e9',
      { RescaleIntercept: -1e9 },
      /RescaleIntercept -1000000000 do not give/,
    ],
  ])(
    'implausible geometry or rescale (%s) is refused, not classified',
    async (_, change, message) => {
      const dss = ctSliceDatasets(series).map((ds) => ({ ...ds, ...change }));
      const type = 'PixelSpacing' in change ? InconsistentGeometryError : InvalidInputError;
      expect((await failure(await folderOf(dss), type)).message).toMatch(message);
    },
  );

  it('a path that does not exist', async () => {
    await failure('/nonexistent/phaselens/series', NotFoundError);
  });

  it('a truncated file, cut in the pixel data or in the header', async () => {
    const dir = await tempDir();
    const [file] = await writeCtSeries(series, dir);
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 100));
    expect((await failure(dir, TruncatedFileError)).message).toMatch(/truncated/);
    await fs.writeFile(file, bytes.subarray(0, 400));
    await failure(dir, TruncatedFileError);
  });

  it('a CT instance without pixel data', async () => {
    const [ds] = ctSliceDatasets(series);
    delete ds.PixelData;
    expect((await failure(await folderOf([ds]), MissingPixelDataError)).message).toMatch(
      /without pixel data/,
    );
  });

  it('a series of another modality', async () => {
    const dss = ctSliceDatasets(series).map((ds) => ({ ...ds, Modality: 'MR' }));
    await failure(await folderOf(dss), UnsupportedModalityError);
  });

  it('an unsupported transfer syntax (MPEG-2)', async () => {
    const dss = ctSliceDatasets(series).map((ds) => ({
      ...ds,
      PixelData: [new Uint8Array(64).buffer],
      _vrMap: { PixelData: 'OB' },
    }));
    const e = await failure(
      await folderOf(dss, '1.2.840.10008.1.2.4.100'),
      UnsupportedTransferSyntaxError,
    );
    expect(e.message).toMatch(/1\.2\.840\.10008\.1\.2\.4\.100 is not supported/);
  });

  it('12-bit JPEG extended, which no maintained decoder here reads', async () => {
    const dir = await tempDir();
    const native = path.join(dir, 'native');
    const jpeg = path.join(dir, 'jpeg12');
    await writeCtSeries(series, native, {
      ...defaultCtEncoding,
      bitsStored: 12,
      pixelRepresentation: 0,
    });
    await fs.mkdir(jpeg);
    for (const name of await fs.readdir(native))
      runTool('dcmcjpeg', ['+ee', path.join(native, name), path.join(jpeg, name)]);
    expect((await failure(jpeg, UnsupportedTransferSyntaxError)).message).toMatch(
      /12-bit.*8-bit only/,
    );
  });

  it('inconsistent geometry: an orientation that differs', async () => {
    const dss = ctSliceDatasets(series);
    dss[2].ImageOrientationPatient = [1, 0, 0, 0, 0.9, 0.43589];
    expect((await failure(await folderOf(dss), InconsistentGeometryError)).message).toMatch(
      /ImageOrientationPatient differs/,
    );
  });

  it('inconsistent geometry: a missing slice leaves a gap', async () => {
    const dss = ctSliceDatasets(series);
    dss.splice(2, 1);
    expect((await failure(await folderOf(dss), InconsistentGeometryError)).message).toMatch(
      /uneven slice spacing/,
    );
  });

  it('inconsistent geometry: two slices at one position', async () => {
    const dir = await tempDir();
    const p = series.geometry.positions;
    await writeCtSeries(withPositions(series, [p[0], p[1], p[1], p[2], p[3]]), dir);
    expect((await failure(dir, InconsistentGeometryError)).message).toMatch(/same position/);
  });

  it('inconsistent geometry: a sheared stack says how far slices move sideways', async () => {
    const dir = await tempDir();
    const p = series.geometry.positions;
    // Each slice two pixels further along y than the last: a tilted gantry or a sheared stack.
    const shift = 2 * series.geometry.pixelSpacing[0];
    await writeCtSeries(
      withPositions(
        series,
        p.map(([x, y, z], i) => [x, y + shift * i, z]),
      ),
      dir,
    );
    const message = (await failure(dir, InconsistentGeometryError)).message;
    expect(message).toContain(`move ${shift.toFixed(2)} mm sideways between slices 1 and 2`);
    expect(message).toMatch(/mm along the slice normal\)/);
  });

  it('inconsistent geometry: slices of another size, or without a position', async () => {
    const small = makeDemoSeries({ rows: 8, columns: 20, slices: 5, seed: 'bad' });
    const dss = ctSliceDatasets(series);
    dss[1] = ctSliceDatasets(small)[1];
    expect((await failure(await folderOf(dss), InconsistentGeometryError)).message).toMatch(
      /20x8 pixels/,
    );
    const noPosition = ctSliceDatasets(series);
    delete noPosition[0].ImagePositionPatient;
    expect((await failure(await folderOf(noPosition), InconsistentGeometryError)).message).toMatch(
      /ImagePositionPatient is missing/,
    );
  });

  it('a slice selection out of range', async () => {
    const dir = await tempDir();
    await writeCtSeries(series, dir);
    await expect(readSeries(dir, { select: () => [0, 99] })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});
