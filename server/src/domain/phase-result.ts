import type { Phase, PhaseCall } from './phase';

/** One slice's probabilities (the members' mean), by its index in the series. */
export interface SliceProbabilities {
  index: number;
  probabilities: Record<Phase, number>;
}

/**
 * What the architecture document calls PhaseResult: the call for a series, the evidence behind
 * it and the model that made it.
 */
export interface PhaseResult {
  /** A phase, or `indeterminate` with `reason` when the evidence disagrees. */
  phase: Exclude<PhaseCall, 'out-of-scope'>;
  /** The most probable phase (the phase itself unless the call is indeterminate). */
  leading: Phase;
  /** Calibrated probability of the leading phase. */
  confidence: number;
  probabilities: Record<Phase, number>;
  /** Per slice: the members' mean probabilities. */
  slices: SliceProbabilities[];
  /** Mean probability of the leading phase over every member's slices (before calibration). */
  agreement: number;
  /** Each ensemble member's own leading phase. */
  members: Phase[];
  reason?: string;
  /** What a reader should know about the input (blank UIDs, ...). */
  warnings: string[];
  model: { name: string; version: string };
}
