/** What the PhaseLens service returns (its OpenAPI document is the reference). */
export type Phase = 'non-contrast' | 'arterial' | 'portal-venous' | 'delayed';
export const PHASES: readonly Phase[] = ['non-contrast', 'arterial', 'portal-venous', 'delayed'];

/** A series' call: a phase, or `indeterminate` when the classifier's evidence disagrees. */
export type PhaseCall = Phase | 'indeterminate';

export type Probabilities = Record<Phase, number>;

export interface SliceProbabilities {
  index: number;
  probabilities: Probabilities;
}

export interface PhaseSummary {
  phase: PhaseCall;
  confidence: number;
  /** Why the call is indeterminate. */
  reason?: string;
  probabilities: Probabilities;
  model: { name: string; version: string };
}

export interface AnalysisView {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  progress: { stage: string; fraction: number };
  error?: string;
  /** The failure's kind, as the service names it (out-of-scope, pacs-auth, invalid-input, ...). */
  errorCode?: string;
  result?: PhaseSummary & {
    slices: SliceProbabilities[];
    derivedSeries: {
      phaseReport?: string;
      secondaryCaptures: Record<string, string>;
      parametricMaps: Record<string, string>;
    };
  };
}
