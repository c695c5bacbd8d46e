import { promises as fs } from 'node:fs';
import path from 'node:path';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { PhaseReport } from '../src/derived/phase-report';
import { derivedUids } from '../src/derived/common';
import { InvalidInputError } from '../src/errors';
import type { PhaseResult } from '../src/model/classify';
import { makeDemoSeries } from '../src/series/demo-series';
import { encodePart10 } from '../src/series/write-ct';
import { dciodvfy, tempDir } from './helpers/series';

const result: PhaseResult = {
  phase: 'portal-venous',
  confidence: 0.83,
  probabilities: { 'non-contrast': 0.02, arterial: 0.1, 'portal-venous': 0.83, delayed: 0.05 },
  slices: [],
  model: { name: 'phaselens-phase', version: '1.0.0' },
};

async function written(ds: NaturalDataset): Promise<string> {
  const file = path.join(await tempDir(), 'object.dcm');
  await fs.writeFile(file, new Uint8Array(encodePart10(ds, '1.2.840.10008.1.2.1')));
  return file;
}

describe('phase report (Comprehensive SR)', () => {
  const series = makeDemoSeries({ rows: 16, columns: 16, slices: 4, seed: 'report' });

  it('passes dciodvfy with no error and no warning', async () => {
    const file = await written(new PhaseReport(series, result).dataset);
    expect(dciodvfy(file)).toEqual([]);
  });

  it('reads back the phase, probabilities, model and source series', async () => {
    const file = await written(new PhaseReport(series, result).dataset);
    const bytes = await fs.readFile(file);
    const dict = dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    const back = PhaseReport.read(ds);
    expect(back?.phase).toBe('portal-venous');
    expect(back?.probabilities.arterial).toBeCloseTo(0.1, 6);
    expect(back?.model).toEqual(result.model);
    expect(back?.sourceSeriesInstanceUid).toBe(series.seriesInstanceUid);
    expect(ds.ContentQualification).toBe('RESEARCH');
    expect(ds.PatientID).toBe(series.header.PatientID ?? '');
    expect(ds.StudyInstanceUID).toBe(series.studyInstanceUid);
  });

  it('gets the same UIDs for the same series, model and kind, and new ones otherwise', () => {
    const a = new PhaseReport(series, result).dataset;
    const b = new PhaseReport(series, result, new Date(0)).dataset;
    expect(b.SOPInstanceUID).toBe(a.SOPInstanceUID);
    expect(b.SeriesInstanceUID).toBe(a.SeriesInstanceUID);
    const other = derivedUids(series, { ...result.model, version: '1.0.1' }, 'phase-report');
    expect(other.seriesInstanceUid).not.toBe(a.SeriesInstanceUID);
    for (const uid of [a.SOPInstanceUID, a.SeriesInstanceUID] as string[]) {
      expect(uid).toMatch(/^2\.25\.\d+$/);
      expect(BigInt(uid.slice(5))).toBeLessThan(2n ** 128n);
      expect(uid.length).toBeLessThanOrEqual(64);
    }
  });

  it('refuses probabilities that do not sum to one', () => {
    expect(
      () =>
        new PhaseReport(series, {
          ...result,
          probabilities: { ...result.probabilities, delayed: 0.5 },
        }),
    ).toThrow(InvalidInputError);
  });
});
