/**
 * The source's modules that every derived object carries over verbatim (PS3.3 C.7.1.1 Patient,
 * C.7.1.3 Clinical Trial Subject, C.7.2.1 General Study, C.7.2.2 Patient Study, C.7.2.3
 * Clinical Trial Study, C.7.3.2 Clinical Trial Series): copied as the source has them, never
 * invented or cleaned, so de-identification, trial and procedure attributes survive. Keywords
 * dcmjs does not know are simply not found.
 */
export const PATIENT_MODULE = [
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'IssuerOfPatientIDQualifiersSequence',
  'TypeOfPatientID',
  'PatientBirthDate',
  'PatientBirthTime',
  'PatientSex',
  'QualityControlSubject',
  'ReferencedPatientSequence',
  'OtherPatientIDsSequence',
  'OtherPatientNames',
  'EthnicGroup',
  'EthnicGroupCodeSequence',
  'PatientComments',
  'PatientSpeciesDescription',
  'PatientSpeciesCodeSequence',
  'PatientBreedDescription',
  'PatientBreedCodeSequence',
  'BreedRegistrationSequence',
  'ResponsiblePerson',
  'ResponsiblePersonRole',
  'ResponsibleOrganization',
  'PatientIdentityRemoved',
  'DeidentificationMethod',
  'DeidentificationMethodCodeSequence',
] as const;

export const CLINICAL_TRIAL_SUBJECT_MODULE = [
  'ClinicalTrialSponsorName',
  'ClinicalTrialProtocolID',
  'ClinicalTrialProtocolName',
  'ClinicalTrialSiteID',
  'ClinicalTrialSiteName',
  'ClinicalTrialSubjectID',
  'ClinicalTrialSubjectReadingID',
  'ClinicalTrialProtocolEthicsCommitteeName',
  'ClinicalTrialProtocolEthicsCommitteeApprovalNumber',
] as const;

export const GENERAL_STUDY_MODULE = [
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'ReferringPhysicianIdentificationSequence',
  'ConsultingPhysicianName',
  'StudyID',
  'AccessionNumber',
  'IssuerOfAccessionNumberSequence',
  'StudyDescription',
  'PhysiciansOfRecord',
  'NameOfPhysiciansReadingStudy',
  'RequestingServiceCodeSequence',
  'ReferencedStudySequence',
  'ProcedureCodeSequence',
  'ReasonForPerformedProcedureCodeSequence',
] as const;

export const PATIENT_STUDY_MODULE = [
  'AdmittingDiagnosesDescription',
  'AdmittingDiagnosesCodeSequence',
  'PatientAge',
  'PatientSize',
  'PatientWeight',
  'PatientBodyMassIndex',
  'MeasuredAPDimension',
  'MeasuredLateralDimension',
  'MedicalAlerts',
  'Allergies',
  'SmokingStatus',
  'PregnancyStatus',
  'PatientState',
  'Occupation',
  'AdditionalPatientHistory',
  'AdmissionID',
  'ServiceEpisodeID',
  'ServiceEpisodeDescription',
  'PatientSexNeutered',
] as const;

export const CLINICAL_TRIAL_STUDY_MODULE = [
  'ClinicalTrialTimePointID',
  'ClinicalTrialTimePointDescription',
  'LongitudinalTemporalOffsetFromEvent',
  'LongitudinalTemporalEventType',
  'ConsentForClinicalTrialUseSequence',
] as const;

export const CLINICAL_TRIAL_SERIES_MODULE = [
  'ClinicalTrialCoordinatingCenterName',
  'ClinicalTrialSeriesID',
  'ClinicalTrialSeriesDescription',
] as const;

/** Everything copied verbatim into each derived object, in one list. */
export const COPIED_FROM_SOURCE: readonly string[] = [
  ...PATIENT_MODULE,
  ...CLINICAL_TRIAL_SUBJECT_MODULE,
  ...GENERAL_STUDY_MODULE,
  ...PATIENT_STUDY_MODULE,
  ...CLINICAL_TRIAL_STUDY_MODULE,
  ...CLINICAL_TRIAL_SERIES_MODULE,
];
