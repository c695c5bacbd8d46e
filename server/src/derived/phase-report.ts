import type { DerivedSeries } from './derived-series';
import { encodedWhole, type EncodedObject } from './encoded';
import type { NaturalDataset } from 'dcmjs';
import { InvalidInputError } from '../errors';
import { PHASES, type Phase } from '../domain/phase';
import type { CtSeries } from '../series/types';
import { deterministicUid } from '../util/uid';
import { copiedModules, derivedUids, SOFTWARE_NAME, SOFTWARE_VERSION } from './common';
import {
  CT_PROCEDURE,
  DCM,
  ENGLISH_US,
  INDETERMINATE_CODE,
  NO_UNITS,
  PHASE_CODES,
  PRIVATE_SCHEME_IDENTIFICATION,
  SOURCE_IMAGE,
  type Code,
} from './phase-codes';
import type { PhaseResult } from '../domain/phase-result';

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';
const PARAMETRIC_MAP = '1.2.840.10008.5.1.4.1.1.30';

/** A derived map object the report points to (its series and single instance). */
export interface ReportedMap {
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

type Item = NaturalDataset;
const item = (relationship: string, valueType: string, concept: Code, value: Item): Item => ({
  RelationshipType: relationship,
  ValueType: valueType,
  ConceptNameCodeSequence: [concept],
  ...value,
});
const codeItem = (relationship: string, concept: Code, value: Code, children?: Item[]): Item =>
  item(relationship, 'CODE', concept, {
    ConceptCodeSequence: [value],
    ...(children ? { ContentSequence: children } : {}),
  });
const textItem = (relationship: string, concept: Code, value: string): Item =>
  item(relationship, 'TEXT', concept, { TextValue: value });
const uidItem = (relationship: string, concept: Code, value: string): Item =>
  item(relationship, 'UIDREF', concept, { UID: value });
const container = (
  relationship: string,
  concept: Code,
  children: Item[],
  template?: string,
): Item =>
  item(relationship, 'CONTAINER', concept, {
    ContinuityOfContent: 'SEPARATE',
    ...(template
      ? { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: template }] }
      : {}),
    ContentSequence: children,
  });
const imageItem = (classUid: string, instanceUid: string): Item =>
  item('CONTAINS', 'IMAGE', SOURCE_IMAGE, {
    ReferencedSOPSequence: [
      { ReferencedSOPClassUID: classUid, ReferencedSOPInstanceUID: instanceUid },
    ],
  });

const sameCode = (a: NaturalDataset | undefined, b: Code): boolean =>
  a?.CodeValue === b.CodeValue && a?.CodingSchemeDesignator === b.CodingSchemeDesignator;

/**
 * The phase of a CT series as a TID 1500 Imaging Measurement Report (Comprehensive SR):
 * language (TID 1204), the device observer (TID 1004), the procedure reported, an image library
 * of the source CT images and the Parametric Maps written with it (TID 1600), and one
 * measurement group (TID 1501) holding the algorithm (TID 4019), the four class probabilities
 * as NUM items qualified by their phase, the decided phase coded as a qualitative evaluation
 * of "Contrast Phase" (`indeterminate` as SCT "Indeterminate", with its reason as a comment).
 * Marked PRELIMINARY and RESEARCH. One class per DICOM object, validated at construction.
 */
export class PhaseReport implements DerivedSeries {
  readonly kind = 'phase-report';
  readonly key = '';
  readonly count = 1;
  /** Stored last: its presence says every map series of the analysis is in the PACS. */
  readonly completes = true;
  readonly seriesInstanceUid: string;
  readonly dataset: NaturalDataset;

  *objects(): Generator<EncodedObject> {
    yield encodedWhole(this.dataset);
  }

  constructor(
    series: CtSeries,
    result: PhaseResult,
    options: { created?: Date; parametricMaps?: ReportedMap[] } = {},
  ) {
    const created = options.created ?? new Date();
    const maps = options.parametricMaps ?? [];
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
    this.seriesInstanceUid = uids.seriesInstanceUid;
    const probability = (p: Phase): Item =>
      item('CONTAINS', 'NUM', DCM.probability, {
        MeasuredValueSequence: [
          {
            MeasurementUnitsCodeSequence: [NO_UNITS],
            NumericValue: Number(result.probabilities[p].toFixed(6)),
          },
        ],
        ContentSequence: [codeItem('HAS CONCEPT MOD', DCM.contrastPhase, PHASE_CODES[p])],
      });
    const decided =
      result.phase === 'indeterminate' ? INDETERMINATE_CODE : PHASE_CODES[result.phase];
    const group = container(
      'CONTAINS',
      DCM.measurementGroup,
      [
        textItem('HAS OBS CONTEXT', DCM.trackingIdentifier, 'PhaseLens contrast phase'),
        uidItem(
          'HAS OBS CONTEXT',
          DCM.trackingUid,
          deterministicUid('phase-tracking', series.seriesInstanceUid),
        ),
        textItem('HAS CONCEPT MOD', DCM.algorithmName, result.model.name),
        textItem('HAS CONCEPT MOD', DCM.algorithmVersion, result.model.version),
        ...PHASES.map(probability),
        codeItem('CONTAINS', DCM.contrastPhase, decided),
        ...(result.reason ? [textItem('CONTAINS', DCM.comment, result.reason)] : []),
      ],
      '1501',
    );
    const library = container('CONTAINS', DCM.imageLibrary, [
      container(
        'CONTAINS',
        DCM.imageLibraryGroup,
        series.instances.map((i) => imageItem(i.sopClassUid, i.sopInstanceUid)),
      ),
      ...(maps.length
        ? [
            container(
              'CONTAINS',
              DCM.imageLibraryGroup,
              maps.map((m) => imageItem(PARAMETRIC_MAP, m.sopInstanceUid)),
            ),
          ]
        : []),
    ]);
    const uniqueInstances = [
      ...new Map(series.instances.map((i) => [i.sopInstanceUid, i])).values(),
    ];
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
      PreliminaryFlag: 'PRELIMINARY',
      ContentQualification: 'RESEARCH',
      CodingSchemeIdentificationSequence: [PRIVATE_SCHEME_IDENTIFICATION],
      PerformedProcedureCodeSequence: [],
      CurrentRequestedProcedureEvidenceSequence: [
        {
          StudyInstanceUID: series.studyInstanceUid,
          ReferencedSeriesSequence: [
            {
              SeriesInstanceUID: series.seriesInstanceUid,
              ReferencedSOPSequence: uniqueInstances.map((i) => ({
                ReferencedSOPClassUID: i.sopClassUid,
                ReferencedSOPInstanceUID: i.sopInstanceUid,
              })),
            },
            ...maps.map((m) => ({
              SeriesInstanceUID: m.seriesInstanceUid,
              ReferencedSOPSequence: [
                {
                  ReferencedSOPClassUID: PARAMETRIC_MAP,
                  ReferencedSOPInstanceUID: m.sopInstanceUid,
                },
              ],
            })),
          ],
        },
      ],
      ValueType: 'CONTAINER',
      ConceptNameCodeSequence: [DCM.imagingMeasurementReport],
      ContinuityOfContent: 'SEPARATE',
      ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
      ContentSequence: [
        codeItem('HAS CONCEPT MOD', DCM.language, ENGLISH_US),
        codeItem('HAS OBS CONTEXT', DCM.observerType, DCM.device),
        uidItem(
          'HAS OBS CONTEXT',
          DCM.deviceObserverUid,
          deterministicUid('device-observer', SOFTWARE_NAME, SOFTWARE_VERSION),
        ),
        textItem('HAS OBS CONTEXT', DCM.deviceObserverName, SOFTWARE_NAME),
        textItem('HAS OBS CONTEXT', DCM.deviceObserverManufacturer, SOFTWARE_NAME),
        textItem(
          'HAS OBS CONTEXT',
          DCM.deviceObserverModelName,
          `${SOFTWARE_NAME} ${SOFTWARE_VERSION}`,
        ),
        codeItem('HAS CONCEPT MOD', DCM.procedureReported, CT_PROCEDURE),
        library,
        container('CONTAINS', DCM.imagingMeasurements, [group]),
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
    const list = (v: unknown): NaturalDataset[] =>
      v === undefined || v === null
        ? []
        : Array.isArray(v)
          ? (v as NaturalDataset[])
          : [v as NaturalDataset];
    const concept = (i: NaturalDataset): NaturalDataset | undefined =>
      list(i.ConceptNameCodeSequence)[0];
    const child = (i: NaturalDataset | undefined, c: Code): NaturalDataset | undefined =>
      list(i?.ContentSequence).find((x) => sameCode(concept(x), c));
    if (ds.SOPClassUID !== COMPREHENSIVE_SR || !sameCode(concept(ds), DCM.imagingMeasurementReport))
      return undefined;
    const group = child(child(ds, DCM.imagingMeasurements), DCM.measurementGroup);
    const text = (c: Code): string => String(child(group, c)?.TextValue ?? '');
    const name = text(DCM.algorithmName);
    if (!group || !name) return undefined;
    const phaseOf = (value: NaturalDataset | undefined): Phase | undefined =>
      PHASES.find((p) => sameCode(value, PHASE_CODES[p]));
    const decided = list(child(group, DCM.contrastPhase)?.ConceptCodeSequence)[0];
    const phase = sameCode(decided, INDETERMINATE_CODE) ? 'indeterminate' : phaseOf(decided);
    if (!phase) return undefined;
    const probabilities = Object.fromEntries(PHASES.map((p) => [p, NaN])) as Record<Phase, number>;
    for (const num of list(group.ContentSequence).filter((x) =>
      sameCode(concept(x), DCM.probability),
    )) {
      const modifier = list(child(num, DCM.contrastPhase)?.ConceptCodeSequence)[0];
      const p = phaseOf(modifier);
      if (p) probabilities[p] = Number(list(num.MeasuredValueSequence)[0]?.NumericValue);
    }
    // The source is the evidence series that is not a map written with the report (the report
    // lists it first), whatever SOP class its images have.
    const evidence = list(ds.CurrentRequestedProcedureEvidenceSequence).flatMap((s) =>
      list(s.ReferencedSeriesSequence),
    );
    const source = evidence.find(
      (s) => list(s.ReferencedSOPSequence)[0]?.ReferencedSOPClassUID !== PARAMETRIC_MAP,
    );
    return {
      phase,
      probabilities,
      model: { name, version: text(DCM.algorithmVersion) },
      sourceSeriesInstanceUid: String(source?.SeriesInstanceUID ?? ''),
    };
  }
}
