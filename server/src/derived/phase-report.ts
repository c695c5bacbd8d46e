import type { NaturalDataset } from 'dcmjs';
import { InvalidInputError } from '../errors';
import type { PhaseResult } from '../model/classify';
import { PHASES, type Phase } from '../domain/phase';
import type { CtSeries } from '../series/types';
import { CONTRAST_PHASE_TERMS, copiedModules, derivedUids, INDETERMINATE_TERM } from './common';

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';

const code = (value: string, scheme: string, meaning: string): NaturalDataset => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});

// Standard codes only (DICOM PS3.16): PS3.16 has no codes for the arterial and portal-venous
// phases, so the phase value is the Contrast/Bolus Agent Phase defined term (0018,9344).
const REPORT_TITLE = code('18748-4', 'LN', 'Diagnostic Imaging Report');
const CONTRAST_PHASE = code('109058', 'DCM', 'Contrast Phase');
const PROBABILITY = code('122157', 'DCM', 'Probability');
const SERIES_UID = code('112002', 'DCM', 'Series Instance UID');
const ALGORITHM_NAME = code('111001', 'DCM', 'Algorithm Name');
const ALGORITHM_VERSION = code('111003', 'DCM', 'Algorithm Version');
const COMMENT = code('121106', 'DCM', 'Comment');

const PHASE_OF_TERM = Object.fromEntries(PHASES.map((p) => [CONTRAST_PHASE_TERMS[p], p])) as Record<
  string,
  Phase
>;

/**
 * The phase of a CT series as a Comprehensive SR document: the phase as the Contrast/Bolus Agent
 * Phase defined term under DCM "Contrast Phase", the four class probabilities (DCM
 * "Probability", each qualified by its phase), the algorithm name and version (TID 4019 codes)
 * and the source series UID, with every source instance in the evidence.
 * One class per DICOM object, validated at construction.
 */
export class PhaseReport {
  readonly dataset: NaturalDataset;

  constructor(series: CtSeries, result: PhaseResult, created = new Date()) {
    const sum = PHASES.reduce((s, p) => s + result.probabilities[p], 0);
    if (
      !(
        PHASES.includes(result.leading) &&
        (result.phase === result.leading || result.phase === 'indeterminate')
      ) ||
      Math.abs(sum - 1) > 1e-3
    )
      throw new InvalidInputError(
        `phase report: phase "${result.phase}" with probabilities summing to ${sum.toFixed(4)}`,
      );
    if (series.instances.length === 0)
      throw new InvalidInputError('phase report: the source series has no instances to reference');
    const uids = derivedUids(series.seriesInstanceUid, result.model, 'phase-report');
    const phaseText = (p: Phase): NaturalDataset => ({
      RelationshipType: 'HAS CONCEPT MOD',
      ValueType: 'TEXT',
      ConceptNameCodeSequence: [CONTRAST_PHASE],
      TextValue: CONTRAST_PHASE_TERMS[p],
    });
    const num = (p: Phase): NaturalDataset => ({
      RelationshipType: 'CONTAINS',
      ValueType: 'NUM',
      ConceptNameCodeSequence: [PROBABILITY],
      MeasuredValueSequence: [
        {
          MeasurementUnitsCodeSequence: [code('1', 'UCUM', 'no units')],
          NumericValue: Number(result.probabilities[p].toFixed(6)),
        },
      ],
      ContentSequence: [phaseText(p)],
    });
    const textItem = (concept: NaturalDataset, value: string): NaturalDataset => ({
      RelationshipType: 'CONTAINS',
      ValueType: 'TEXT',
      ConceptNameCodeSequence: [concept],
      TextValue: value,
    });
    this.dataset = {
      ...copiedModules(series, created),
      SOPClassUID: COMPREHENSIVE_SR,
      SOPInstanceUID: uids.instanceUid(1),
      Modality: 'SR',
      SeriesInstanceUID: uids.seriesInstanceUid,
      SeriesNumber: 9901,
      SeriesDescription: `PhaseLens phase: ${result.phase}`,
      ReferencedPerformedProcedureStepSequence: [],
      InstanceNumber: 1,
      CompletionFlag: 'COMPLETE',
      VerificationFlag: 'UNVERIFIED',
      ContentQualification: 'RESEARCH',
      PerformedProcedureCodeSequence: [],
      CurrentRequestedProcedureEvidenceSequence: [
        {
          StudyInstanceUID: series.studyInstanceUid,
          ReferencedSeriesSequence: [
            {
              SeriesInstanceUID: series.seriesInstanceUid,
              ReferencedSOPSequence: series.instances.map((i) => ({
                ReferencedSOPClassUID: i.sopClassUid,
                ReferencedSOPInstanceUID: i.sopInstanceUid,
              })),
            },
          ],
        },
      ],
      ValueType: 'CONTAINER',
      ConceptNameCodeSequence: [REPORT_TITLE],
      ContinuityOfContent: 'SEPARATE',
      ContentSequence: [
        textItem(
          CONTRAST_PHASE,
          result.phase === 'indeterminate'
            ? INDETERMINATE_TERM
            : CONTRAST_PHASE_TERMS[result.phase],
        ),
        ...(result.reason ? [textItem(COMMENT, result.reason)] : []),
        ...PHASES.map(num),
        {
          RelationshipType: 'CONTAINS',
          ValueType: 'UIDREF',
          ConceptNameCodeSequence: [SERIES_UID],
          UID: series.seriesInstanceUid,
        },
        textItem(ALGORITHM_NAME, result.model.name),
        textItem(ALGORITHM_VERSION, result.model.version),
      ],
    };
  }

  /** Reads a PhaseLens phase report back (naturalised dataset); undefined for other objects. */
  static read(ds: NaturalDataset):
    | {
        phase: Phase | 'indeterminate';
        probabilities: Record<Phase, number>;
        model: PhaseResult['model'];
        sourceSeriesInstanceUid: string;
      }
    | undefined {
    const first = (v: unknown): NaturalDataset | undefined =>
      (Array.isArray(v) ? v[0] : v) as NaturalDataset | undefined;
    const items = ([] as NaturalDataset[]).concat((ds.ContentSequence as NaturalDataset[]) ?? []);
    const concept = (i: NaturalDataset): string | undefined =>
      first(i.ConceptNameCodeSequence)?.CodeValue as string | undefined;
    const textOf = (c: string): string =>
      String(items.find((i) => concept(i) === c && i.ValueType === 'TEXT')?.TextValue ?? '');
    if (ds.SOPClassUID !== COMPREHENSIVE_SR || textOf(ALGORITHM_NAME.CodeValue as string) === '')
      return undefined;
    const term = textOf(CONTRAST_PHASE.CodeValue as string);
    const phase = term === INDETERMINATE_TERM ? 'indeterminate' : PHASE_OF_TERM[term];
    if (!phase) return undefined;
    const probabilities = Object.fromEntries(PHASES.map((p) => [p, NaN])) as Record<Phase, number>;
    for (const item of items.filter((i) => concept(i) === PROBABILITY.CodeValue)) {
      const modifier = first(item.ContentSequence);
      const p = PHASE_OF_TERM[String(modifier?.TextValue ?? '')];
      const value = first(item.MeasuredValueSequence)?.NumericValue;
      if (p) probabilities[p] = Number(value);
    }
    const uidItem = items.find((i) => concept(i) === SERIES_UID.CodeValue);
    return {
      phase,
      probabilities,
      model: {
        name: textOf(ALGORITHM_NAME.CodeValue as string),
        version: textOf(ALGORITHM_VERSION.CodeValue as string),
      },
      sourceSeriesInstanceUid: String(uidItem?.UID ?? ''),
    };
  }
}
