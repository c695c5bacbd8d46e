import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readSeries } from '../src/series/read-series';
import { makeDemoSeries } from '../src/series/demo-series';
import { ctSliceDatasets, encodePart10 } from '../src/series/write-ct';
import { SopClass } from '../src/series/slice-record';
import { TransferSyntax } from '../src/series/transfer-syntax';
import { maxAbsDiff, tempDir } from './helpers/series';

describe('enhanced multi-frame CT', () => {
  it('reads frames through the functional groups, sorted by position', async () => {
    const series = makeDemoSeries({
      rows: 24,
      columns: 28,
      slices: 6,
      noiseHu: 20,
      seed: 'enhanced',
    });
    const slices = ctSliceDatasets(series);
    // Frames stored out of anatomical order: 3, 0, 5, 1, 4, 2.
    const order = [3, 0, 5, 1, 4, 2];
    const frameBytes = order.map((i) => new Uint8Array((slices[i].PixelData as ArrayBuffer[])[0]));
    const pixelData = new Uint8Array(frameBytes.reduce((n, f) => n + f.byteLength, 0));
    frameBytes.forEach((f, i) => pixelData.set(f, i * f.byteLength));
    const base = { ...slices[0] };
    for (const k of [
      'ImagePositionPatient',
      'ImageOrientationPatient',
      'PixelSpacing',
      'RescaleIntercept',
      'RescaleSlope',
      'RescaleType',
      'InstanceNumber',
    ]) {
      delete base[k];
    }
    const enhanced = {
      ...base,
      SOPClassUID: SopClass.EnhancedCtImage,
      NumberOfFrames: order.length,
      SharedFunctionalGroupsSequence: [
        {
          PixelMeasuresSequence: [
            { PixelSpacing: series.geometry.pixelSpacing, SliceThickness: 5 },
          ],
          PlaneOrientationSequence: [{ ImageOrientationPatient: series.geometry.orientation }],
          PixelValueTransformationSequence: [
            { RescaleIntercept: -1024, RescaleSlope: 1, RescaleType: 'HU' },
          ],
        },
      ],
      PerFrameFunctionalGroupsSequence: order.map((i) => ({
        PlanePositionSequence: [{ ImagePositionPatient: series.geometry.positions[i] }],
      })),
      PixelData: [pixelData.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    const dir = await tempDir();
    await fs.writeFile(
      path.join(dir, 'enhanced.dcm'),
      new Uint8Array(encodePart10(enhanced, TransferSyntax.ExplicitVRLittleEndian)),
    );
    const read = await readSeries(dir);
    expect(read.slices).toBe(6);
    expect(maxAbsDiff(read.hu, series.hu)).toBe(0);
    expect(read.instances.map((i) => i.frameNumber)).toEqual([2, 4, 6, 1, 5, 3]);
    expect(new Set(read.instances.map((i) => i.sopInstanceUid)).size).toBe(1);
    expect(read.geometry.sliceSpacing).toBeCloseTo(5, 6);
  });
});
