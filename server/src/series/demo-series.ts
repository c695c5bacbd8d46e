import { deterministicUid } from '../util/uid';
import { seededRandom } from '../util/random';
import type { InMemorySeries, Orientation, Vec3 } from './types';

export interface DemoSeriesOptions {
  rows?: number;
  columns?: number;
  slices?: number;
  pixelSpacing?: number;
  sliceSpacing?: number;
  /** HU of the aorta lumen: about 40 unenhanced, 300 arterial. */
  aortaHu?: number;
  seed?: string;
  /** Standard deviation of added noise (HU), deterministic from the seed. */
  noiseHu?: number;
}

/**
 * A small axial CT volume with known HU: air, a soft-tissue body ellipse, a vertebral body and an
 * aorta. Used by the demo and by tests that need exact, known voxels; the realistic multiphase
 * phantoms are the phantom generator's work.
 */
export function makeDemoSeries(options: DemoSeriesOptions = {}): InMemorySeries {
  const rows = options.rows ?? 64;
  const columns = options.columns ?? 64;
  const slices = options.slices ?? 12;
  const ps = options.pixelSpacing ?? 6;
  const ss = options.sliceSpacing ?? 5;
  const seed = options.seed ?? 'demo';
  const aortaHu = options.aortaHu ?? 300;
  const random = seededRandom(seed);
  const gauss = (): number =>
    Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const hu = new Float32Array(rows * columns * slices);
  const cx = (columns - 1) / 2;
  const cy = (rows - 1) / 2;
  const ax = columns * 0.42;
  const ay = rows * 0.32;
  for (let s = 0; s < slices; s++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const x = (c - cx) / ax;
        const y = (r - cy) / ay;
        let v = -1000;
        if (x * x + y * y <= 1) {
          v = 40;
          const spine = Math.hypot(c - cx, r - (cy + ay * 0.55));
          if (spine < rows * 0.07) v = 700;
          const aorta = Math.hypot(c - (cx + columns * 0.04), r - (cy + ay * 0.22));
          if (aorta < rows * 0.045) v = aortaHu;
        }
        const noise = options.noiseHu ? options.noiseHu * gauss() : 0;
        // Scanners clip at -1024 HU; so does the demo, so every encoding can hold it.
        hu[(s * rows + r) * columns + c] = Math.max(-1024, Math.round(v + noise));
      }
    }
  }
  const orientation: Orientation = [1, 0, 0, 0, 1, 0];
  const origin: Vec3 = [-(columns * ps) / 2, -(rows * ps) / 2, -200];
  return {
    studyInstanceUid: deterministicUid('demo-study', seed),
    seriesInstanceUid: deterministicUid('demo-series', seed),
    frameOfReferenceUid: deterministicUid('demo-frame', seed),
    rows,
    columns,
    slices,
    hu,
    geometry: {
      positions: Array.from(
        { length: slices },
        (_, s) => [origin[0], origin[1], origin[2] + s * ss] as Vec3,
      ),
      orientation,
      pixelSpacing: [ps, ps],
      sliceSpacing: ss,
    },
    instances: Array.from({ length: slices }, (_, s) => ({
      sopInstanceUid: deterministicUid('demo-instance', seed, s),
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    })),
    header: {
      PatientName: 'Demo^Phantom',
      PatientID: 'PHASELENS-DEMO',
      StudyDescription: 'PhaseLens demo',
      SeriesDescription: 'Demo phantom',
      // What its files say (write-ct's defaults), so objects derived in memory match them.
      StudyDate: '20260101',
      StudyTime: '120000',
      StudyID: '1',
    },
    source: { kind: 'files', location: 'memory' },
  };
}
