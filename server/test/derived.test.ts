import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { PhaseReport } from '../src/derived/phase-report';
import { MapParametricMap } from '../src/derived/parametric-map';
import { labelLines, MapSecondaryCapture } from '../src/derived/secondary-capture';
import { VolumeMap } from '../src/attribution/series-map';
import type { EncodedObject } from '../src/derived/encoded';
import type { CtSeries } from '../src/series/types';
import { derivedUids } from '../src/derived/common';
import { InvalidInputError } from '../src/errors';
import { makeDemoSeries } from '../src/series/demo-series';
import { encodePart10 } from '../src/series/write-ct';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { readSeries } from '../src/series/read-series';
import { generateCase } from '../src/phantom/render';
import { deriveObjects } from '../src/derived/derive';
import { COPIED_FROM_SOURCE } from '../src/derived/source-modules';
import { pickHeader } from '../src/series/assemble';
import { dciodvfy, REAL_CT, tempDir } from './helpers/series';
import type { AttributionMap } from '../src/domain/attribution-map';
import type { PhaseResult } from '../src/domain/phase-result';

const result: PhaseResult = {
  phase: 'portal-venous',
  leading: 'portal-venous' as const,
  agreement: 1,
  members: [],
  warnings: [],
  confidence: 0.83,
  probabilities: { 'non-contrast': 0.02, arterial: 0.1, 'portal-venous': 0.83, delayed: 0.05 },
  slices: [],
  model: { name: 'phaselens-phase', version: '1.0.0' },
};

const first = (v: unknown): NaturalDataset | undefined =>
  (Array.isArray(v) ? v[0] : v) as NaturalDataset | undefined;
const items = (i: NaturalDataset | undefined): NaturalDataset[] =>
  (i?.ContentSequence as NaturalDataset[] | undefined) ?? [];
const conceptOf = (v: unknown): string => {
  const c = first(v);
  return `${String(c?.CodingSchemeDesignator)} ${String(c?.CodeValue)} ${String(c?.CodeMeaning)}`;
};
const childNamed = (i: NaturalDataset, value: string): NaturalDataset | undefined =>
  items(i).find((x) => first(x.ConceptNameCodeSequence)?.CodeValue === value);
const measurementGroup = (ds: NaturalDataset): NaturalDataset =>
  childNamed(childNamed(ds, '126010') as NaturalDataset, '125007') as NaturalDataset;

async function written(ds: NaturalDataset | EncodedObject): Promise<string> {
  const file = path.join(await tempDir(), 'object.dcm');
  const bytes =
    'chunks' in ds && typeof ds.chunks === 'function'
      ? Buffer.concat([...(ds as EncodedObject).chunks()])
      : new Uint8Array(encodePart10(ds as NaturalDataset, '1.2.840.10008.1.2.1'));
  await fs.writeFile(file, bytes);
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
    const b = new PhaseReport(series, result, { created: new Date(0) }).dataset;
    expect(b.SOPInstanceUID).toBe(a.SOPInstanceUID);
    expect(b.SeriesInstanceUID).toBe(a.SeriesInstanceUID);
    const other = derivedUids(
      series.seriesInstanceUid,
      { ...result.model, version: '1.0.1' },
      'phase-report',
    );
    expect(other.seriesInstanceUid).not.toBe(a.SeriesInstanceUID);
    for (const uid of [a.SOPInstanceUID, a.SeriesInstanceUID] as string[]) {
      expect(uid).toMatch(/^2\.25\.\d+$/);
      expect(BigInt(uid.slice(5))).toBeLessThan(2n ** 128n);
      expect(uid.length).toBeLessThanOrEqual(64);
    }
  });

  it('an indeterminate call is written as such, with its reason, and read back', async () => {
    const reason = "the ensemble's members disagree (portal-venous, delayed, delayed)";
    const file = await written(
      new PhaseReport(series, { ...result, phase: 'indeterminate', reason }).dataset,
    );
    expect(dciodvfy(file)).toEqual([]);
    const bytes = await fs.readFile(file);
    const dict = dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    expect(PhaseReport.read(ds)?.phase).toBe('indeterminate');
    const group = measurementGroup(ds);
    expect(conceptOf(childNamed(group, '109058')?.ConceptCodeSequence)).toEqual(
      'SCT 82334004 Indeterminate',
    );
    expect(childNamed(group, '121106')?.TextValue).toBe(reason);
    expect(ds.SeriesDescription).toBe('PhaseLens phase: indeterminate');
  });

  it('is a TID 1500 Imaging Measurement Report with every required item, and dsrdump reads it without a warning', async () => {
    const maps = [{ seriesInstanceUid: '1.2.826.0.1.5', sopInstanceUid: '1.2.826.0.1.5.1' }];
    const ds = new PhaseReport(series, result, { parametricMaps: maps }).dataset;
    const file = await written(ds);
    expect(dciodvfy(file)).toEqual([]);
    const dump = spawnSync('dsrdump', [file], { encoding: 'utf8' });
    expect(dump.status).toBe(0);
    expect(dump.stderr).toBe('');
    // Root: TID 1500, its title, and the items TID 1500 requires (TID 1204, 1001/1004, 121058).
    expect(conceptOf(ds.ConceptNameCodeSequence)).toBe('DCM 126000 Imaging Measurement Report');
    expect(first(ds.ContentTemplateSequence)).toMatchObject({
      MappingResource: 'DCMR',
      TemplateIdentifier: '1500',
    });
    const root = items(ds);
    const shape = (i: NaturalDataset): string =>
      `${String(i.RelationshipType)} ${String(i.ValueType)} ${conceptOf(i.ConceptNameCodeSequence)}`;
    expect(root.map(shape)).toEqual([
      'HAS CONCEPT MOD CODE DCM 121049 Language of Content Item and Descendants',
      'HAS OBS CONTEXT CODE DCM 121005 Observer Type',
      'HAS OBS CONTEXT UIDREF DCM 121012 Device Observer UID',
      'HAS OBS CONTEXT TEXT DCM 121013 Device Observer Name',
      'HAS OBS CONTEXT TEXT DCM 121014 Device Observer Manufacturer',
      'HAS OBS CONTEXT TEXT DCM 121015 Device Observer Model Name',
      'HAS CONCEPT MOD CODE DCM 121058 Procedure reported',
      'CONTAINS CONTAINER DCM 111028 Image Library',
      'CONTAINS CONTAINER DCM 126010 Imaging Measurements',
    ]);
    expect(conceptOf(root[1].ConceptCodeSequence)).toBe('DCM 121007 Device');
    // The image library holds every source image, and the maps written with the report.
    const [sources, written_] = items(root[7]);
    expect(
      items(sources).map((i) => first(i.ReferencedSOPSequence)?.ReferencedSOPInstanceUID),
    ).toEqual(series.instances.map((i) => i.sopInstanceUid));
    expect(
      items(written_).map((i) => first(i.ReferencedSOPSequence)?.ReferencedSOPInstanceUID),
    ).toEqual(['1.2.826.0.1.5.1']);
    // One TID 1501 measurement group: tracking, algorithm (TID 4019), four probabilities, the phase.
    const group = measurementGroup(ds);
    expect(first(group.ContentTemplateSequence)?.TemplateIdentifier).toBe('1501');
    expect(items(group).map(shape)).toEqual([
      'HAS OBS CONTEXT TEXT DCM 112039 Tracking Identifier',
      'HAS OBS CONTEXT UIDREF DCM 112040 Tracking Unique Identifier',
      'HAS CONCEPT MOD TEXT DCM 111001 Algorithm Name',
      'HAS CONCEPT MOD TEXT DCM 111003 Algorithm Version',
      'CONTAINS NUM DCM 122157 Probability',
      'CONTAINS NUM DCM 122157 Probability',
      'CONTAINS NUM DCM 122157 Probability',
      'CONTAINS NUM DCM 122157 Probability',
      'CONTAINS CODE DCM 109058 Contrast Phase',
    ]);
    expect(conceptOf(childNamed(group, '109058')?.ConceptCodeSequence)).toBe(
      '99PHASELENS PORTAL_VENOUS Portal venous phase',
    );
    // Every private scheme used is declared.
    const declared = (ds.CodingSchemeIdentificationSequence as NaturalDataset[]).map(
      (c) => c.CodingSchemeDesignator,
    );
    expect(declared).toContain('99PHASELENS');
    expect(ds.PreliminaryFlag).toBe('PRELIMINARY');
    // The evidence lists the source series and the map's.
    const evidence = first(ds.CurrentRequestedProcedureEvidenceSequence)
      ?.ReferencedSeriesSequence as NaturalDataset[];
    expect(evidence.map((e) => e.SeriesInstanceUID)).toEqual([
      series.seriesInstanceUid,
      '1.2.826.0.1.5',
    ]);
  });

  it('refuses a NIfTI source: no instances to reference, none invented', () => {
    const nifti = { ...series, source: { kind: 'nifti' as const, location: 'ct.nii.gz' } };
    expect(() => new PhaseReport(nifti, result)).toThrow(
      /^derived DICOM objects need a DICOM source: this series was read from NIfTI/,
    );
  });

  it('refuses a series with a blank Study Instance UID (nothing to reference)', () => {
    expect(() => new PhaseReport({ ...series, studyInstanceUid: '' }, result)).toThrow(
      /blank one$/,
    );
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

function readBack(file: string): Promise<NaturalDataset> {
  return fs.readFile(file).then((bytes) => {
    const dict = dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  });
}

describe('map objects: Secondary Capture and Parametric Map', () => {
  const series = makeDemoSeries({ rows: 96, columns: 112, slices: 5, seed: 'maps' });
  const plane = series.rows * series.columns;
  // A map with a known shape: a ramp along the columns, strongest on slice 3.
  const values = Float32Array.from(
    { length: series.hu.length },
    (_, i) => ((i % series.columns) / series.columns) * (Math.floor(i / plane) === 2 ? 2 : 1),
  );
  const map = new VolumeMap(
    { method: 'gradcam', layer: 'conv5', target: 'portal-venous', values },
    series,
  );

  it('Secondary Capture: one RGB image per slice, annotated, each referencing its CT slice', async () => {
    const sc = new MapSecondaryCapture(series, map, result);
    expect(sc.datasets).toHaveLength(series.slices);
    const file = await written(sc.datasets[2]);
    expect(dciodvfy(file)).toEqual([]);
    const ds = await readBack(file);
    expect(ds.BurnedInAnnotation).toBe('YES');
    expect(ds.SamplesPerPixel).toBe(3);
    const source = ([] as NaturalDataset[]).concat(ds.SourceImageSequence as NaturalDataset[])[0];
    expect(source.ReferencedSOPInstanceUID).toBe(series.instances[2].sopInstanceUid);
    // The high end of the ramp is coloured (red dominant), the low end stays grey.
    const rgb = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]);
    const at = (row: number, col: number): number[] =>
      Array.from(
        rgb.subarray((row * series.columns + col) * 3, (row * series.columns + col) * 3 + 3),
      );
    const [r, , b] = at(60, series.columns - 12);
    expect(r).toBeGreaterThan(b + 40);
    const [r0, g0, b0] = at(60, 2);
    expect(r0).toBe(g0);
    expect(g0).toBe(b0);
  });

  it.each(['uint16', 'float32'] as const)(
    'Parametric Map (%s): the CT grid exactly, values through the real world value mapping',
    async (format) => {
      const pm = new MapParametricMap(series, map, result, { format });
      // As writers send it: the header encoded, the pixel element and frames streamed after it.
      const encoded = pm.encoded();
      const file = await written(encoded);
      expect((await fs.stat(file)).size).toBe(encoded.byteLength);
      expect(dciodvfy(file)).toEqual([]);
      const ds = await readBack(file);
      expect(ds.NumberOfFrames).toBe(series.slices);
      expect(ds.Rows).toBe(series.rows);
      expect(ds.Columns).toBe(series.columns);
      expect(ds.FrameOfReferenceUID).toBe(series.frameOfReferenceUid);
      const shared = ([] as NaturalDataset[]).concat(
        ds.SharedFunctionalGroupsSequence as NaturalDataset[],
      )[0];
      const mapping = ([] as NaturalDataset[]).concat(
        shared.RealWorldValueMappingSequence as NaturalDataset[],
      )[0];
      const quantity = ([] as NaturalDataset[]).concat(
        mapping.QuantityDefinitionSequence as NaturalDataset[],
      )[0];
      const code = ([] as NaturalDataset[]).concat(
        quantity.ConceptCodeSequence as NaturalDataset[],
      )[0];
      expect(code.CodeValue).toBe('130403'); // CID 217 Gradient-weighted class activation
      const frames = ds.PerFrameFunctionalGroupsSequence as NaturalDataset[];
      frames.forEach((f, s) => {
        const pos = ([] as NaturalDataset[]).concat(f.PlanePositionSequence as NaturalDataset[])[0];
        (pos.ImagePositionPatient as number[]).forEach((v, k) =>
          expect(v).toBeCloseTo(series.geometry.positions[s][k], 4),
        );
        const derivation = ([] as NaturalDataset[]).concat(
          f.DerivationImageSequence as NaturalDataset[],
        )[0];
        const src = ([] as NaturalDataset[]).concat(
          derivation.SourceImageSequence as NaturalDataset[],
        )[0];
        expect(src.ReferencedSOPInstanceUID).toBe(series.instances[s].sopInstanceUid);
      });
      const slope = Number(mapping.RealWorldValueSlope);
      const stored =
        format === 'uint16'
          ? new Uint16Array((ds.PixelData as ArrayBuffer[])[0])
          : new Float32Array((ds.FloatPixelData as ArrayBuffer[])[0]);
      let worst = 0;
      for (let i = 0; i < values.length; i++)
        worst = Math.max(worst, Math.abs(stored[i] * slope - values[i]));
      expect(worst).toBeLessThanOrEqual(format === 'uint16' ? slope / 2 + 1e-9 : 1e-6);
      const referenced = ([] as NaturalDataset[]).concat(
        ds.ReferencedSeriesSequence as NaturalDataset[],
      )[0];
      expect(referenced.SeriesInstanceUID).toBe(series.seriesInstanceUid);
    },
  );

  it('refuses a map that does not fit the series', () => {
    expect(
      () =>
        new VolumeMap(
          { method: 'gradcam', target: 'arterial', values: new Float32Array(10) },
          series,
        ),
    ).toThrow(/10 values for a series of/);
    const fewer = new VolumeMap(
      {
        method: 'gradcam',
        target: 'arterial',
        values: values.subarray(0, 2 * series.rows * series.columns),
      },
      { ...series, slices: 2 },
    );
    expect(() => new MapParametricMap(series, fewer, result)).toThrow(/covers 2 slices/);
    expect(() => new MapSecondaryCapture(series, fewer, result)).toThrow(InvalidInputError);
  });
});

describe('derived objects pass dciodvfy, for phantom and real CT', () => {
  const sources: [string, () => Promise<CtSeries>, string | undefined][] = [
    [
      'phantom',
      async () => (await generateCase('derived', 1, { matrix: 128, slices: 8 })).series,
      undefined,
    ],
  ];
  const pv = path.join(REAL_CT, 'hcc048-portal-venous');
  if (existsSync(pv)) sources.push(['real portal-venous', () => readSeries(pv), pv]);
  it.each(sources)(
    '%s: no finding of their own (only what the copied patient and study modules already carry)',
    async (_name, load, sourceDir) => {
      const source = await load();
      // The source's own findings on the attributes derived objects copy verbatim.
      let inherited: string[] = [];
      if (sourceDir) {
        const first = (await fs.readdir(sourceDir)).sort()[0];
        // dciodvfy names attributes in words: PatientName is "Patient's Name".
        const names = COPIED_FROM_SOURCE.map((k) =>
          k.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^Patient /, "Patient's "),
        );
        inherited = dciodvfy(path.join(sourceDir, first)).filter((l) =>
          names.some((n) => l.includes(`<${n}>`) || l.includes(` ${n}`)),
        );
      }
      const values = Float32Array.from({ length: source.hu.length }, (_, i) => (i % 251) / 251);
      const objects = deriveObjects(source, result, [
        new VolumeMap({ method: 'sam', layer: 'input', target: 'portal-venous', values }, source),
        new VolumeMap({ method: 'cam', target: 'portal-venous', values }, source),
      ]);
      const datasets = [
        objects.phaseReport,
        objects.ofKind('parametric-map')[0].dataset,
        objects.ofKind('parametric-map')[1].dataset,
        objects.ofKind('secondary-capture')[0].dataset(0),
        objects.ofKind('secondary-capture')[1].dataset(source.slices - 1),
      ];
      for (const ds of datasets) {
        const own = dciodvfy(await written(ds)).filter((l) => !inherited.includes(l));
        expect([ds.SOPClassUID, own]).toEqual([ds.SOPClassUID, []]);
      }
      // As written to the PACS: the Secondary Capture in RLE Lossless, encapsulated.
      const [rle] = objects.ofKind('secondary-capture')[0].objects();
      const own = dciodvfy(await written(rle)).filter((l) => !inherited.includes(l));
      expect(['RLE secondary capture', own]).toEqual(['RLE secondary capture', []]);
    },
    60_000,
  );
});

describe('maps for another target phase and the burned-in label', () => {
  const series = makeDemoSeries({ rows: 128, columns: 128, slices: 3, seed: 'target' });
  const result: PhaseResult = {
    phase: 'portal-venous',
    leading: 'portal-venous',
    agreement: 0.9,
    members: [],
    warnings: [],
    confidence: 0.96,
    probabilities: { 'non-contrast': 0.01, arterial: 0.02, 'portal-venous': 0.96, delayed: 0.01 },
    slices: [],
    model: { name: 'phaselens-phase', version: '2.0.0' },
  };
  const mapFor = (target: AttributionMap['target']): AttributionMap =>
    new VolumeMap(
      { method: 'sam', target, values: new Float32Array(series.slices * 128 * 128).fill(1) },
      series,
    );

  it('a map for another target gets other UIDs and says its target', () => {
    const ownSc = new MapSecondaryCapture(series, mapFor('portal-venous'), result);
    const otherSc = new MapSecondaryCapture(series, mapFor('delayed'), result);
    expect(otherSc.seriesInstanceUid).not.toBe(ownSc.seriesInstanceUid);
    expect(otherSc.dataset(0).SOPInstanceUID).not.toBe(ownSc.dataset(0).SOPInstanceUID);
    expect(otherSc.dataset(0).SeriesDescription).toBe('PhaseLens sam map for delayed');
    const ownPm = new MapParametricMap(series, mapFor('portal-venous'), result);
    const otherPm = new MapParametricMap(series, mapFor('delayed'), result);
    expect(otherPm.seriesInstanceUid).not.toBe(ownPm.seriesInstanceUid);
    expect(otherPm.dataset.SeriesDescription).toBe('PhaseLens sam parametric map for delayed');
  });

  it.each([96, 128, 256, 512, 1024])(
    'at %i px the disclaimer is whole and every line fits',
    (width) => {
      const fit = Math.floor((width - 8) / (6 * (width >= 384 ? 2 : 1)));
      for (const name of ['sam', 'integrated-gradients', 'gradcam-conv3'])
        for (const r of [result, { ...result, phase: 'indeterminate' as const }]) {
          const [first, second] = labelLines(name, 'portal-venous', r, width);
          expect(second.startsWith('RESEARCH ONLY')).toBe(true);
          expect(first.length).toBeLessThanOrEqual(fit);
          expect(second.length).toBeLessThanOrEqual(fit);
        }
      if (width >= 512)
        expect(labelLines('sam', 'portal-venous', result, width)[1]).toBe(
          'RESEARCH ONLY - PORTAL-VENOUS 96%',
        );
    },
  );
});

describe('what derived objects copy from their source', () => {
  it('the patient, study and clinical-trial modules verbatim, with the character set they need', () => {
    const deidentified: NaturalDataset = {
      PatientName: 'Müller^Jörg',
      PatientID: 'TRIAL-007',
      PatientIdentityRemoved: 'YES',
      DeidentificationMethod: 'TCIA de-identification',
      DeidentificationMethodCodeSequence: [
        {
          CodeValue: '113100',
          CodingSchemeDesignator: 'DCM',
          CodeMeaning: 'Basic Application Confidentiality Profile',
        },
      ],
      ClinicalTrialSubjectID: 'SUBJ-7',
      ClinicalTrialProtocolID: 'PROTO-1',
      ClinicalTrialTimePointID: 'BASELINE',
      LongitudinalTemporalEventType: 'ENROLLMENT',
      LongitudinalTemporalOffsetFromEvent: 12,
      ProcedureCodeSequence: [
        { CodeValue: 'CTABD', CodingSchemeDesignator: '99LOCAL', CodeMeaning: 'CT abdomen' },
      ],
      ClinicalTrialSeriesID: 'S1',
      SpecificCharacterSet: 'ISO_IR 192',
      LossyImageCompression: '01',
      LossyImageCompressionRatio: 8,
      LossyImageCompressionMethod: 'ISO_10918_1',
      PositionReferenceIndicator: 'XY',
      Manufacturer: 'ACME Medical',
      ManufacturerModelName: 'Helix 64',
      DeviceSerialNumber: 'SN-1234',
      StationName: '',
    };
    const series = makeDemoSeries({ rows: 96, columns: 96, slices: 2, seed: 'copy' });
    series.header = { ...series.header, ...pickHeader(deidentified) };
    const values = new Float32Array(series.hu.length).fill(0.5);
    const objects = deriveObjects(series, result, [
      new VolumeMap({ method: 'cam', target: 'portal-venous', values }, series),
    ]);
    const datasets = [
      objects.phaseReport,
      objects.ofKind('parametric-map')[0].dataset,
      objects.ofKind('secondary-capture')[0].dataset(0),
    ];
    const copied = [
      'PatientName',
      'PatientIdentityRemoved',
      'DeidentificationMethod',
      'DeidentificationMethodCodeSequence',
      'ClinicalTrialSubjectID',
      'ClinicalTrialProtocolID',
      'ClinicalTrialTimePointID',
      'LongitudinalTemporalEventType',
      'LongitudinalTemporalOffsetFromEvent',
      'ProcedureCodeSequence',
      'ClinicalTrialSeriesID',
    ];
    for (const ds of datasets) {
      for (const k of copied)
        expect([ds.SOPClassUID, k, ds[k]]).toEqual([ds.SOPClassUID, k, deidentified[k]]);
      // dcmjs writes UTF-8: a name with umlauts needs ISO_IR 192, whatever the source declared.
      expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
      // PhaseLens made the object; the source's scanner is on record as acquisition equipment.
      expect(ds.Manufacturer).toBe('PhaseLens');
      expect(ds.ContributingEquipmentSequence).toEqual([
        {
          PurposeOfReferenceCodeSequence: [
            {
              CodeValue: '109101',
              CodingSchemeDesignator: 'DCM',
              CodeMeaning: 'Acquisition Equipment',
            },
          ],
          Manufacturer: 'ACME Medical',
          ManufacturerModelName: 'Helix 64',
          DeviceSerialNumber: 'SN-1234',
        },
      ]);
    }
    // Pixels derived from lossy pixels are lossy; the maps sit in the source's frame of reference.
    for (const ds of datasets.slice(1)) expect(ds.LossyImageCompression).toBe('01');
    expect(objects.ofKind('parametric-map')[0].dataset.PositionReferenceIndicator).toBe('XY');
  });

  it('an ASCII source without a character set stays in the default repertoire', () => {
    const series = makeDemoSeries({ rows: 16, columns: 16, slices: 2, seed: 'ascii' });
    expect(new PhaseReport(series, result).dataset.SpecificCharacterSet).toBeUndefined();
  });

  it("non-ASCII text that only the scanner's record carries still declares UTF-8", () => {
    const series = makeDemoSeries({ rows: 16, columns: 16, slices: 2, seed: 'station' });
    series.header = { ...series.header, Manufacturer: 'ACME', StationName: 'Zürich CT 2' };
    const ds = new PhaseReport(series, result).dataset;
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect((ds.ContributingEquipmentSequence as NaturalDataset[])[0].StationName).toBe(
      'Zürich CT 2',
    );
  });

  it('no contributing equipment is invented for a source that names no manufacturer', () => {
    const series = makeDemoSeries({ rows: 16, columns: 16, slices: 2, seed: 'no-maker' });
    series.header = { ...series.header, Manufacturer: '' };
    expect(new PhaseReport(series, result).dataset.ContributingEquipmentSequence).toBeUndefined();
  });
});

describe('Secondary Capture and Parametric Map details', () => {
  const series = makeDemoSeries({ rows: 96, columns: 96, slices: 3, seed: 'details' });
  const values = Float32Array.from({ length: series.hu.length }, (_, i) => (i % 7) / 7);
  const objects = deriveObjects(
    series,
    result,
    [
      { method: 'sam', layer: 'input', target: 'portal-venous' as const, values },
      { method: 'cam', target: 'portal-venous' as const, values },
      { method: 'cam', target: 'delayed' as const, values },
    ].map((m) => new VolumeMap(m, series)),
  );

  it('SC: the orientation, spacing and capture date of the CT grid it is drawn on', () => {
    const sc = objects.ofKind('secondary-capture')[0].dataset(0);
    // Demo series are axial, rows running to the patient's left, columns to posterior.
    expect(sc.PatientOrientation).toEqual(['L', 'P']);
    expect((sc.PixelSpacing as number[]).map(Number)).toEqual(series.geometry.pixelSpacing);
    expect(sc.DateOfSecondaryCapture).toMatch(/^\d{8}$/);
  });

  it('every derived series has its own SeriesNumber, the same on a rerun', () => {
    const numbers = [
      objects.phaseReport.SeriesNumber,
      ...objects.ofKind('secondary-capture').map((sc) => sc.dataset(0).SeriesNumber),
      ...objects.ofKind('parametric-map').map((pm) => pm.dataset.SeriesNumber),
    ];
    expect(new Set(numbers).size).toBe(numbers.length);
    const again = deriveObjects(series, result, [
      new VolumeMap({ method: 'cam', target: 'delayed', values }, series),
    ]);
    expect(again.ofKind('parametric-map')[0].dataset.SeriesNumber).toBe(
      objects.ofKind('parametric-map')[2].dataset.SeriesNumber,
    );
  });

  it('PM: a 3D dimension organisation with its slice spacing, in arbitrary units', () => {
    const pm = objects.ofKind('parametric-map')[0].dataset;
    expect(pm.DimensionOrganizationType).toBe('3D');
    const shared = first(pm.SharedFunctionalGroupsSequence) as NaturalDataset;
    expect(Number(first(shared.PixelMeasuresSequence)?.SpacingBetweenSlices)).toBeCloseTo(
      series.geometry.sliceSpacing,
      3,
    );
    const mapping = first(shared.RealWorldValueMappingSequence) as NaturalDataset;
    expect(conceptOf(mapping.MeasurementUnitsCodeSequence)).toBe("UCUM [arb'U] arbitrary unit");
  });

  it('PM: the device serial number names the installation, not the software version', () => {
    const pm = objects.ofKind('parametric-map')[0].dataset;
    expect(pm.DeviceSerialNumber).toBe(hostname().slice(0, 64));
    expect(pm.DeviceSerialNumber).not.toBe(pm.SoftwareVersions);
    const sam = new VolumeMap(
      { method: 'sam', layer: 'input', target: 'portal-venous', values },
      series,
    );
    const site = deriveObjects(series, result, [sam], { deviceSerialNumber: 'radiology-ct-7' });
    expect(site.ofKind('parametric-map')[0].dataset.DeviceSerialNumber).toBe('radiology-ct-7');
  });
});
