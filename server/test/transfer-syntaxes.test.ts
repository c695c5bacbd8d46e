import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readSeries } from '../src/series/read-series';
import { makeDemoSeries } from '../src/series/demo-series';
import {
  ctSliceDatasets,
  encodePart10,
  writeCtSeries,
  defaultCtEncoding,
  type CtEncoding,
} from '../src/series/write-ct';
import { TransferSyntax } from '../src/series/transfer-syntax';
import { parseDicomFile } from '../src/series/dicom-file';
import { maxAbsDiff, runTool, tempDir } from './helpers/series';
import { toJpeg2000 } from './helpers/encapsulate';

/** Converts every file in `from` with a dcmtk tool into `to`. */
async function convert(from: string, to: string, tool: string, args: string[]): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const name of await fs.readdir(from))
    runTool(tool, [...args, path.join(from, name), path.join(to, name)]);
}

async function syntaxOf(dir: string): Promise<string> {
  const [name] = await fs.readdir(dir);
  return parseDicomFile(new Uint8Array(await fs.readFile(path.join(dir, name))), name)
    .transferSyntaxUid;
}

describe.each<[string, Partial<CtEncoding>]>([
  ['16-bit signed, intercept -1024', {}],
  ['12-bit unsigned, intercept -1024', { bitsStored: 12, pixelRepresentation: 0 }],
])(
  'every transfer syntax decodes to the HU of the uncompressed original (%s)',
  (_name, encoding) => {
    const series = makeDemoSeries({
      rows: 48,
      columns: 56,
      slices: 4,
      noiseHu: 25,
      seed: `ts-${_name}`,
    });
    let root: string;
    let native: string;

    beforeAll(async () => {
      root = await tempDir();
      native = path.join(root, 'native');
      await writeCtSeries(series, native, { ...defaultCtEncoding, ...encoding });
    });

    it.each<[string, string, string, string[]]>([
      ['implicit VR little endian', TransferSyntax.ImplicitVRLittleEndian, 'dcmconv', ['+ti']],
      [
        'deflated explicit VR little endian',
        TransferSyntax.DeflatedExplicitVRLittleEndian,
        'dcmconv',
        ['+td'],
      ],
      ['RLE lossless', TransferSyntax.RleLossless, 'dcmcrle', []],
      ['JPEG lossless SV1', TransferSyntax.JpegLosslessSV1, 'dcmcjpeg', ['+e1']],
      ['JPEG lossless process 14', TransferSyntax.JpegLossless, 'dcmcjpeg', ['+el', '+sv', '6']],
      ['JPEG-LS lossless', TransferSyntax.JpegLsLossless, 'dcmcjpls', ['+el']],
    ])('%s', async (name, uid, tool, args) => {
      const dir = path.join(root, name.replace(/\W+/g, '-'));
      await convert(native, dir, tool, args);
      expect(await syntaxOf(dir)).toBe(uid);
      const read = await readSeries(dir);
      expect(maxAbsDiff(read.hu, series.hu)).toBe(0);
    });

    it('JPEG 2000 lossless', async () => {
      const dir = path.join(root, 'j2k');
      await toJpeg2000(native, dir);
      expect(await syntaxOf(dir)).toBe(TransferSyntax.Jpeg2000Lossless);
      expect(maxAbsDiff((await readSeries(dir)).hu, series.hu)).toBe(0);
    });
  },
);

describe('JPEG-LS near-lossless (unsigned samples, as dcmtk encodes them)', () => {
  it('matches the reference decoder and stays within its error bound', async () => {
    const series = makeDemoSeries({
      rows: 48,
      columns: 56,
      slices: 3,
      noiseHu: 25,
      seed: 'jls-near',
    });
    const root = await tempDir();
    const native = path.join(root, 'native');
    await writeCtSeries(series, native, { ...defaultCtEncoding, pixelRepresentation: 0 });
    const dir = path.join(root, 'jls-near');
    const back = path.join(root, 'jls-near-decoded');
    await convert(native, dir, 'dcmcjpls', ['+en', '+md', '2']);
    expect(await syntaxOf(dir)).toBe(TransferSyntax.JpegLsNearLossless);
    await convert(dir, back, 'dcmdjpls', []);
    const read = await readSeries(dir);
    expect(maxAbsDiff(read.hu, (await readSeries(back)).hu)).toBe(0);
    expect(maxAbsDiff(read.hu, series.hu)).toBeLessThanOrEqual(2);
    expect(maxAbsDiff(read.hu, series.hu)).toBeGreaterThan(0);
  });
});

describe('JPEG baseline (8-bit samples)', () => {
  it('matches the reference decoder (dcmtk) and the original within the lossy error', async () => {
    const series = makeDemoSeries({ rows: 48, columns: 56, slices: 3, noiseHu: 10, seed: 'jpeg8' });
    const root = await tempDir();
    const native = path.join(root, 'native8');
    await fs.mkdir(native);
    // 8 HU per stored step: -1024..1016 HU in 8 bits, what an 8-bit JPEG of CT can hold.
    for (const ds of ctSliceDatasets(series)) {
      const hu = new Int16Array((ds.PixelData as ArrayBuffer[])[0]).map((v) => v - 1024);
      const bytes = Uint8Array.from(hu, (v) =>
        Math.max(0, Math.min(255, Math.round((v + 1024) / 8))),
      );
      const ds8 = {
        ...ds,
        BitsAllocated: 8,
        BitsStored: 8,
        HighBit: 7,
        PixelRepresentation: 0,
        RescaleSlope: 8,
        RescaleIntercept: -1024,
        PixelData: [bytes.buffer],
        _vrMap: { PixelData: 'OB' },
      };
      await fs.writeFile(
        path.join(native, `${String(ds.SOPInstanceUID)}.dcm`),
        new Uint8Array(encodePart10(ds8, TransferSyntax.ExplicitVRLittleEndian)),
      );
    }
    const jpeg = path.join(root, 'jpeg');
    const back = path.join(root, 'jpeg-decoded');
    await convert(native, jpeg, 'dcmcjpeg', ['+eb', '+q', '95']);
    expect(await syntaxOf(jpeg)).toBe(TransferSyntax.JpegBaseline);
    await convert(jpeg, back, 'dcmdjpeg', []);
    const read = await readSeries(jpeg);
    const reference = await readSeries(back);
    // Two conforming IDCTs may differ by one step of rounding: one stored value is 8 HU.
    expect(maxAbsDiff(read.hu, reference.hu)).toBeLessThanOrEqual(8);
    const original = await readSeries(native);
    let sum = 0;
    for (let i = 0; i < read.hu.length; i++) sum += Math.abs(read.hu[i] - original.hu[i]);
    // Lossy, but by about a stored step (8 HU), not by the hundreds of HU a wrong decode gives.
    expect(sum / read.hu.length).toBeLessThan(16);
  });
});
