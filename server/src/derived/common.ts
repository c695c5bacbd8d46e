import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors';
import type { NaturalDataset } from 'dcmjs';
import { deterministicUid } from '../util/uid';
import type { CtSeries } from '../series/types';
import type { PhaseResult } from '../model/classify';

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

const text = (v: unknown, fallback = ''): string =>
  v === undefined || v === null ? fallback : String(v);

/** DICOM DA and TM of a date. */
export function dicomDateTime(d: Date): { date: string; time: string } {
  const iso = d.toISOString();
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}

/**
 * Patient, study and equipment attributes shared by every derived object: patient and study
 * copied from the source, the equipment naming PhaseLens, content qualified as RESEARCH.
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
  return {
    SpecificCharacterSet: 'ISO_IR 100',
    PatientName: text(h.PatientName),
    PatientID: text(h.PatientID),
    PatientBirthDate: text(h.PatientBirthDate),
    PatientSex: text(h.PatientSex),
    StudyInstanceUID: series.studyInstanceUid,
    // A source without study date, time or ID (NIfTI, a bare folder) gets the series' or the
    // creation's: PACS indexes need them.
    StudyDate: text(h.StudyDate, text(h.SeriesDate, date)),
    StudyTime: text(h.StudyTime, text(h.SeriesTime, time)),
    ReferringPhysicianName: text(h.ReferringPhysicianName),
    StudyID: text(h.StudyID, text(h.AccessionNumber, '1')),
    AccessionNumber: text(h.AccessionNumber),
    StudyDescription: text(h.StudyDescription),
    Manufacturer: SOFTWARE_NAME,
    ManufacturerModelName: SOFTWARE_NAME,
    SoftwareVersions: SOFTWARE_VERSION,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    ContentDate: date,
    ContentTime: time,
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

/** Contrast/Bolus Agent Phase defined terms (0018,9344) for each phase. */
export const CONTRAST_PHASE_TERMS = {
  'non-contrast': 'PRE_CONTRAST',
  arterial: 'ARTERIAL',
  'portal-venous': 'PORTAL_VENOUS',
  delayed: 'DELAYED',
} as const;

/**
 * The report's text for a series whose evidence disagrees: not a Contrast/Bolus Agent Phase
 * defined term (there is none), so readers that know only those terms see no phase.
 */
export const INDETERMINATE_TERM = 'INDETERMINATE';
