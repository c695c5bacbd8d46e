import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readSeries } from '../src/series/read-series';
import { makeDemoSeries } from '../src/series/demo-series';
import { ctSliceDatasets, encodePart10 } from '../src/series/write-ct';
import { sliceRecordsOf, SopClass } from '../src/series/slice-record';
import { TransferSyntax } from '../src/series/transfer-syntax';
import { maxAbsDiff, tempDir } from './helpers/series';

/** An enhanced CT object of `frames` frames (positions from a small demo series, cycled). */
function enhancedObject(frames: number, perFrameItems = frames) {
  const series = makeDemoSeries({ rows: 8, columns: 8, slices: 2, seed: 'huge' });
  const [slice] = ctSliceDatasets(series);
  return {
    ...slice,
    SOPClassUID: SopClass.EnhancedCtImage,
    NumberOfFrames: frames,
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [{ PixelSpacing: [1, 1], SliceThickness: 1 }],
        PlaneOrientationSequence: [{ ImageOrientationPatient: [1, 0, 0, 0, 1, 0] }],
      },
    ],
    PerFrameFunctionalGroupsSequence: Array.from({ length: perFrameItems }, (_, i) => ({
      PlanePositionSequence: [{ ImagePositionPatient: [0, 0, i] }],
    })),
    _vrMap: { PixelData: 'OW' },
  };
}

describe('enhanced multi-frame CT that claims more than it holds', () => {
  // What the DICOMweb reader does with metadata alone (no pixel data to check against).
  const noFrame = () => Promise.reject(new Error('no frame should be loaded'));

  it('an object claiming 20 million frames is refused before any frame record is made', () => {
    const before = process.memoryUsage().heapUsed;
    expect(() => sliceRecordsOf(enhancedObject(20_000_000, 3), 'huge', noFrame)).toThrow(
      /^huge: NumberOfFrames 20000000 exceeds the limit of 8192 slices per object$/,
    );
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(100e6);
  });

  it('per-frame groups that do not match the frame count are refused', () => {
    expect(() => sliceRecordsOf(enhancedObject(5, 3), 'short', noFrame)).toThrow(
      /^short: NumberOfFrames is 5 but PerFrameFunctionalGroupsSequence has 3 items$/,
    );
  });

  it('a slice matrix beyond 2048 x 2048 is refused', () => {
    expect(() =>
      sliceRecordsOf({ ...enhancedObject(1), Rows: 8192, Columns: 8192 }, 'wide', noFrame),
    ).toThrow(/^wide frame 1: 8192 x 8192 pixels exceeds the 2048 x 2048 limit/);
  });
});

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
