import dcmjs, { type NaturalDataset } from 'dcmjs';
import { deriveObjects } from '../src/derived/derive';
import { makeDemoSeries } from '../src/series/demo-series';
import { VolumeMap } from '../src/attribution/series-map';
import {
  ctSliceDatasets,
  defaultCtEncoding,
  encodePart10,
  fileMetaOf,
} from '../src/series/write-ct';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** What dcmjs alone writes for a dataset: the reference for the fast pixel path. */
function dcmjsOnly(ds: NaturalDataset, transferSyntaxUid: string): Uint8Array {
  const dict = new DicomDict(
    DicomMetaDictionary.denaturalizeDataset(fileMetaOf(ds, transferSyntaxUid)),
  );
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  return new Uint8Array(dict.write());
}

describe('Part 10 encoding with the pixels appended directly', () => {
  const series = makeDemoSeries({ rows: 97, columns: 99, slices: 3, seed: 'encode' });
  const result = {
    phase: 'arterial' as const,
    leading: 'arterial' as const,
    agreement: 1,
    members: [],
    warnings: [],
    confidence: 0.9,
    probabilities: { 'non-contrast': 0.02, arterial: 0.9, 'portal-venous': 0.06, delayed: 0.02 },
    slices: [],
    model: { name: 'encode', version: '0' },
  };
  const map = new VolumeMap(
    {
      method: 'sam',
      target: 'arterial',
      values: Float32Array.from({ length: series.hu.length }, (_, i) => (i % 17) / 17),
    },
    series,
  );

  it('writes the same bytes as dcmjs for CT (OW), Secondary Capture (RGB, OB, odd length) and both Parametric Map formats (OW, OF)', () => {
    const ct = ctSliceDatasets(series, defaultCtEncoding)[0];
    const uint16 = deriveObjects(series, result, [map]);
    const float = deriveObjects(series, result, [map], { format: 'float32' });
    const cases: NaturalDataset[] = [
      ct,
      uint16.ofKind('secondary-capture')[0].dataset(0),
      uint16.ofKind('parametric-map')[0].dataset,
      float.ofKind('parametric-map')[0].dataset,
      uint16.phaseReport, // no pixels: dcmjs writes it all
    ];
    // 97 x 99 RGB is an odd number of bytes: the padding byte must match too.
    expect((cases[1].PixelData as ArrayBuffer[])[0].byteLength % 2).toBe(1);
    for (const ds of cases) {
      const fast = new Uint8Array(encodePart10(ds, EXPLICIT_LE));
      expect(Buffer.from(fast).equals(Buffer.from(dcmjsOnly(ds, EXPLICIT_LE)))).toBe(true);
    }
  });

  it('a Parametric Map streamed frame by frame is byte for byte what dcmjs writes for the whole object', () => {
    for (const format of ['uint16', 'float32'] as const) {
      const pm = deriveObjects(series, result, [map], { format }).ofKind('parametric-map')[0];
      const encoded = pm.encoded();
      const streamed = Buffer.concat([...encoded.chunks()]);
      expect(streamed.byteLength).toBe(encoded.byteLength);
      expect(streamed.equals(Buffer.from(dcmjsOnly(pm.dataset, EXPLICIT_LE)))).toBe(true);
    }
  });
});
