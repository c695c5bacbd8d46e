/**
 * Codes of the phase report. Every standard code here was checked against pydicom's and DCMTK's
 * code dictionaries (PS3.16 2026b); none is guessed. PS3.16 and RadLex, as reachable here, have
 * codes for the delayed phase (RADLEX RID11081) and for "indeterminate" (SCT 82334004), but none
 * for the pre-contrast, arterial or portal-venous phase: those are coded in PhaseLens' private
 * scheme, declared in each report's CodingSchemeIdentificationSequence, whose code values are the
 * Contrast/Bolus Agent Phase defined terms of (0018,9344).
 */
import type { NaturalDataset } from 'dcmjs';
import type { Phase } from '../domain/phase';

export interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

export const code = (value: string, scheme: string, meaning: string): Code => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});

export const PRIVATE_SCHEME = '99PHASELENS';

/** The private scheme, as CodingSchemeIdentificationSequence declares it. */
export const PRIVATE_SCHEME_IDENTIFICATION: NaturalDataset = {
  CodingSchemeDesignator: PRIVATE_SCHEME,
  CodingSchemeName: 'PhaseLens contrast phases (the Contrast/Bolus Agent Phase defined terms)',
  CodingSchemeResponsibleOrganization: 'PhaseLens',
};

/** The value of "Contrast Phase" for each phase. */
export const PHASE_CODES: Record<Phase, Code> = {
  'non-contrast': code('PRE_CONTRAST', PRIVATE_SCHEME, 'Pre-contrast phase'),
  arterial: code('ARTERIAL', PRIVATE_SCHEME, 'Arterial phase'),
  'portal-venous': code('PORTAL_VENOUS', PRIVATE_SCHEME, 'Portal venous phase'),
  delayed: code('RID11081', 'RADLEX', 'Delayed phase'),
};
export const INDETERMINATE_CODE = code('82334004', 'SCT', 'Indeterminate');

export const DCM = {
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  contrastPhase: code('109058', 'DCM', 'Contrast Phase'),
  probability: code('122157', 'DCM', 'Probability'),
  comment: code('121106', 'DCM', 'Comment'),
} as const;

/** English (US), as CID 5000 codes it. */
export const ENGLISH_US = code('en-US', 'RFC5646', 'English (US)');
/** CID 100: the closest procedure code for an abdominal CT series. */
export const CT_PROCEDURE = code('25045-6', 'LN', 'CT unspecified body region');
/** Concept name of an image entry in the image library (TID 1601). */
export const SOURCE_IMAGE = code('260753009', 'SCT', 'Source');
export const NO_UNITS = code('1', 'UCUM', 'no units');
