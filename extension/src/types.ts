/**
 * What the PhaseLens service returns, in the viewer's words. The shapes come from the service's
 * OpenAPI document through `api-types.generated.ts` (scripts/api-types.ts): change the document,
 * regenerate, and the compiler shows the places in the viewer that read a changed field.
 */
import type {
  ApiAnalysis,
  ApiAnalysisAccepted,
  ApiError,
  ApiSeriesPhase,
} from './api-types.generated';

/** An analysis as GET /api/v1/analyses/{id} and its events send it. */
export type AnalysisView = ApiAnalysis;
/** What POST /api/v1/analyses answers. */
export type AnalysisAccepted = ApiAnalysisAccepted;
/** What GET /api/v1/series/{uid}/phase answers: a phase stored by an earlier analysis. */
export type StoredPhase = ApiSeriesPhase;
type AnalysisResult = NonNullable<ApiAnalysis['result']>;

export type Phase = NonNullable<AnalysisResult['leading']>;
/** In display order; the compiler checks each is a phase the service can send. */
export const PHASES = [
  'non-contrast',
  'arterial',
  'portal-venous',
  'delayed',
] as const satisfies readonly Phase[];

/** A series' call: a phase, or `indeterminate` when the classifier's evidence disagrees. */
export type PhaseCall = AnalysisResult['phase'];

export type Probabilities = AnalysisResult['probabilities'];

export type SliceProbabilities = AnalysisResult['slices'][number];

/** The service's stable error codes (the `code` of an error answer). */
export type ErrorCode = ApiError['code'];

/** What the panel and badges show for a series: an analysis' result or a stored phase. */
export interface PhaseSummary {
  phase: PhaseCall;
  confidence: number;
  /** Why the call is indeterminate. */
  reason?: string;
  probabilities: Probabilities;
  model: AnalysisResult['model'];
}
