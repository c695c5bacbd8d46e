/**
 * The contrast phases PhaseLens tells apart, and what it may answer instead of a phase. Every
 * layer (model, derived objects, service, watcher) names phases through this module.
 */
export type Phase = 'non-contrast' | 'arterial' | 'portal-venous' | 'delayed';
export const PHASES: readonly Phase[] = ['non-contrast', 'arterial', 'portal-venous', 'delayed'];

/**
 * A series' answer: a phase, `indeterminate` (the ensemble members or the slices disagree more
 * than they ever did on synthetic validation series), or `out-of-scope` (the input is not
 * abdominal CT, so no phase applies).
 */
export type PhaseCall = Phase | 'indeterminate' | 'out-of-scope';
export const PHASE_CALLS: readonly PhaseCall[] = [...PHASES, 'indeterminate', 'out-of-scope'];

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}

export function isPhaseCall(value: unknown): value is PhaseCall {
  return typeof value === 'string' && (PHASE_CALLS as readonly string[]).includes(value);
}
