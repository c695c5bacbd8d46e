import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors';
import type { NaturalDataset } from 'dcmjs';
import { deterministicUid } from '../util/uid';
import { COPIED_FROM_SOURCE } from './source-modules';
import type { CtSeries } from '../series/types';
import type { PhaseResult } from '../domain/phase-result';

export const SOFTWARE_NAME = 'PhaseLens';
/** The server package's version (one place: server/package.json), from src and from dist alike. */
export const SOFTWARE_VERSION = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** The kinds of derived object PhaseLens writes; each gets its own series. */
export type DerivedKind =
  'phase-report' | `secondary-capture/${string}` | `parametric-map/${string}`;

/**
 * UIDs of a derived object: the same source series, model version and object kind always give
 * the same UIDs, so a repeated analysis replaces its objects in the PACS instead of adding copies.
 */
export function derivedUids(
  sourceSeriesInstanceUid: string,
  model: PhaseResult['model'],
  kind: DerivedKind,
): { seriesInstanceUid: string; instanceUid: (n: number) => string } {
  const base = [sourceSeriesInstanceUid, model.name, model.version, kind];
  return {
    seriesInstanceUid: deterministicUid('series', ...base),
    instanceUid: (n: number) => deterministicUid('instance', ...base, n),
  };
}

/** DICOM DA and TM of a date. */
export function dicomDateTime(d: Date): { date: string; time: string } {
  const iso = d.toISOString();
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}

/**
 * Patient, study and equipment attributes shared by every derived object: the source's patient,
 * study and clinical-trial modules copied verbatim (COPIED_FROM_SOURCE; Type 2 attributes it
 * lacks are present and empty, never invented), the equipment naming PhaseLens.
 */
export function copiedModules(series: CtSeries, created: Date): NaturalDataset {
  // A derived object references its source instances; NIfTI has none, so none may be invented.
  if (series.source.kind === 'nifti')
    throw new InvalidInputError(
      'derived DICOM objects need a DICOM source: this series was read from NIfTI, with no instances to reference',
    );
  // A derived object must name its study and source series; a blank UID cannot be referenced.
  if (!series.studyInstanceUid || !series.seriesInstanceUid)
    throw new InvalidInputError(
      'derived objects need the source StudyInstanceUID and SeriesInstanceUID, and this series has a blank one',
    );
  const h = series.header;
  const { date, time } = dicomDateTime(created);
  const copied: NaturalDataset = {};
  for (const k of COPIED_FROM_SOURCE) if (h[k] !== undefined) copied[k] = h[k];
  const scanner = acquisitionEquipment(series);
  // dcmjs decodes every source's text to Unicode and writes UTF-8, so the copy declares UTF-8
  // wherever the source declared a character set or any copied text (the scanner's included) is
  // non-ASCII; a plain-ASCII source without one stays in the default repertoire, as it was.
  const unicode =
    h.SpecificCharacterSet !== undefined ||
    [...JSON.stringify([copied, scanner ?? {}])].some((ch) => ch.charCodeAt(0) > 0x7f);
  return {
    ...(unicode ? { SpecificCharacterSet: 'ISO_IR 192' } : {}),
    ...copied,
    // Type 1 or 2 in the modules above: present even when the source lacks them.
    PatientName: copied.PatientName ?? '',
    PatientID: copied.PatientID ?? '',
    PatientBirthDate: copied.PatientBirthDate ?? '',
    PatientSex: copied.PatientSex ?? '',
    StudyInstanceUID: series.studyInstanceUid,
    StudyDate: copied.StudyDate ?? '',
    StudyTime: copied.StudyTime ?? '',
    ReferringPhysicianName: copied.ReferringPhysicianName ?? '',
    StudyID: copied.StudyID ?? '',
    AccessionNumber: copied.AccessionNumber ?? '',
    Manufacturer: SOFTWARE_NAME,
    ManufacturerModelName: SOFTWARE_NAME,
    SoftwareVersions: SOFTWARE_VERSION,
    ...(scanner ? { ContributingEquipmentSequence: [scanner] } : {}),
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    ContentDate: date,
    ContentTime: time,
  };
}

const SCANNER_KEYWORDS = [
  'InstitutionName',
  'StationName',
  'ManufacturerModelName',
  'DeviceSerialNumber',
  'SoftwareVersions',
] as const;

/**
 * The scanner that acquired the CT, as contributing equipment (PS3.3 C.12.1.1.5; CID 7005
 * "Acquisition Equipment", 109101 DCM): the Equipment module names PhaseLens, which made the
 * object, and this item keeps the source's equipment on record. Absent when the source does not
 * name its manufacturer (Type 1 in the item), rather than invented.
 */
function acquisitionEquipment(series: CtSeries): NaturalDataset | undefined {
  const h = series.header;
  if (h.Manufacturer === undefined || String(h.Manufacturer).trim() === '') return undefined;
  const item: NaturalDataset = {
    PurposeOfReferenceCodeSequence: [
      { CodeValue: '109101', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Acquisition Equipment' },
    ],
    Manufacturer: h.Manufacturer,
  };
  for (const k of SCANNER_KEYWORDS) if (h[k] !== undefined && h[k] !== '') item[k] = h[k];
  return item;
}

/**
 * Lossy compression of derived pixels: lossy when the source says it was (its ratio and method
 * carried along), else none.
 */
export function lossyCompressionOf(series: CtSeries): NaturalDataset {
  const h = series.header;
  if (String(h.LossyImageCompression ?? '') !== '01') return { LossyImageCompression: '00' };
  return {
    LossyImageCompression: '01',
    ...(h.LossyImageCompressionRatio !== undefined
      ? { LossyImageCompressionRatio: h.LossyImageCompressionRatio }
      : {}),
    ...(h.LossyImageCompressionMethod !== undefined
      ? { LossyImageCompressionMethod: h.LossyImageCompressionMethod }
      : {}),
  };
}

/** The source series as a ReferencedSeriesSequence item with every instance. */
export function referencedSeries(series: CtSeries): NaturalDataset {
  return {
    SeriesInstanceUID: series.seriesInstanceUid,
    ReferencedInstanceSequence: series.instances.map((i) => ({
      ReferencedSOPClassUID: i.sopClassUid,
      ReferencedSOPInstanceUID: i.sopInstanceUid,
    })),
  };
}

/** Patient direction letters of a direction cosine vector (PS3.3 C.7.6.1.1.1), major axis first. */
function directionLetters(v: readonly number[]): string {
  const letters: [number, string][] = [
    [v[0], v[0] > 0 ? 'L' : 'R'],
    [v[1], v[1] > 0 ? 'P' : 'A'],
    [v[2], v[2] > 0 ? 'H' : 'F'],
  ];
  return letters
    .filter(([c]) => Math.abs(c) > 0.25)
    .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
    .map(([, l]) => l)
    .join('');
}

/** PatientOrientation (row direction, column direction) of an image on the series' grid. */
export function patientOrientationOf(series: CtSeries): string[] {
  const o = series.geometry.orientation;
  return [directionLetters(o.slice(0, 3)), directionLetters(o.slice(3, 6))];
}

/**
 * A stable SeriesNumber per derived series: the report 9901, then each map's Secondary Capture
 * and Parametric Map series numbered by the map's name and target, so series differ and a rerun
 * keeps its numbers.
 */
export function derivedSeriesNumber(
  kind: 'secondary-capture' | 'parametric-map',
  key: string,
): number {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) % 4999;
  return (kind === 'secondary-capture' ? 10000 : 20000) + h;
}
