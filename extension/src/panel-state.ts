import { describeAnalysisError, describeFailure, type Failure } from './messages';
import type { AnalysisView, PhaseSummary, SliceProbabilities } from './types';

/**
 * The phase panel's state for the active series, as a pure reducer (the React panel renders it;
 * the tests drive it without a browser).
 */
export type PanelState =
  | { kind: 'no-series' }
  | { kind: 'checking'; seriesInstanceUid: string }
  | { kind: 'idle'; seriesInstanceUid: string; note?: string }
  | {
      kind: 'analysing';
      seriesInstanceUid: string;
      analysisId?: string;
      stage: string;
      fraction: number;
      note?: string;
    }
  | {
      kind: 'result';
      seriesInstanceUid: string;
      source: 'service' | 'pacs';
      summary: PhaseSummary;
      slices: SliceProbabilities[];
      /** The slice the viewport shows (its index in the series). */
      viewportSlice?: number;
      derivedSeries?: NonNullable<AnalysisView['result']>['derivedSeries'];
    }
  | { kind: 'error'; seriesInstanceUid: string; message: string };

export type PanelEvent =
  | { type: 'series-changed'; seriesInstanceUid?: string }
  | { type: 'stored-result'; seriesInstanceUid: string; summary?: PhaseSummary }
  | { type: 'stored-result-failed'; seriesInstanceUid: string; failure: Failure }
  | { type: 'analyse'; seriesInstanceUid: string }
  | { type: 'accepted'; seriesInstanceUid: string; analysisId: string }
  | { type: 'request-failed'; seriesInstanceUid: string; failure: Failure }
  | { type: 'update'; seriesInstanceUid: string; view: AnalysisView }
  | { type: 'cancel'; seriesInstanceUid: string }
  | { type: 'viewport-slice'; index: number };

export const initialState: PanelState = { kind: 'no-series' };

const seriesOf = (s: PanelState): string | undefined =>
  s.kind === 'no-series' ? undefined : s.seriesInstanceUid;

export function reduce(state: PanelState, event: PanelEvent): PanelState {
  // Events about another series than the one shown (a late answer after the user moved on)
  // change nothing.
  if ('seriesInstanceUid' in event && event.type !== 'series-changed') {
    if (event.seriesInstanceUid !== seriesOf(state)) return state;
  }
  switch (event.type) {
    case 'series-changed':
      if (!event.seriesInstanceUid) return { kind: 'no-series' };
      if (event.seriesInstanceUid === seriesOf(state)) return state;
      return { kind: 'checking', seriesInstanceUid: event.seriesInstanceUid };
    case 'stored-result':
      if (state.kind !== 'checking') return state;
      return event.summary
        ? {
            kind: 'result',
            seriesInstanceUid: event.seriesInstanceUid,
            source: 'pacs',
            summary: event.summary,
            slices: [],
          }
        : { kind: 'idle', seriesInstanceUid: event.seriesInstanceUid };
    case 'stored-result-failed':
      if (state.kind !== 'checking') return state;
      // No stored result is not an error: the user can analyse.
      if (event.failure.status === 404)
        return { kind: 'idle', seriesInstanceUid: event.seriesInstanceUid };
      return {
        kind: 'idle',
        seriesInstanceUid: event.seriesInstanceUid,
        note: describeFailure(event.failure),
      };
    case 'analyse':
      if (state.kind === 'analysing') return state;
      return {
        kind: 'analysing',
        seriesInstanceUid: event.seriesInstanceUid,
        stage: 'queued',
        fraction: 0,
      };
    case 'accepted':
      if (state.kind !== 'analysing') return state;
      return { ...state, analysisId: event.analysisId };
    case 'request-failed':
      if (state.kind !== 'analysing') return state;
      if (event.failure.status === 429) return { ...state, note: describeFailure(event.failure) };
      return {
        kind: 'error',
        seriesInstanceUid: event.seriesInstanceUid,
        message: describeFailure(event.failure),
      };
    case 'update': {
      if (state.kind !== 'analysing') return state;
      if (state.analysisId && event.view.id !== state.analysisId) return state;
      const v = event.view;
      if (v.state === 'failed')
        return {
          kind: 'error',
          seriesInstanceUid: event.seriesInstanceUid,
          message: describeAnalysisError(v.error ?? 'unknown error', v.errorCode),
        };
      if (v.state === 'done' && v.result)
        return {
          kind: 'result',
          seriesInstanceUid: event.seriesInstanceUid,
          source: 'service',
          summary: {
            phase: v.result.phase,
            confidence: v.result.confidence,
            ...(v.result.reason ? { reason: v.result.reason } : {}),
            probabilities: v.result.probabilities,
            model: v.result.model,
          },
          slices: [...v.result.slices].sort((a, b) => a.index - b.index),
          derivedSeries: v.result.derivedSeries,
        };
      // Progress only moves forward (events may arrive out of order).
      return {
        ...state,
        analysisId: v.id,
        stage: v.progress.stage,
        fraction: Math.max(state.fraction, v.progress.fraction),
        note: undefined,
      };
    }
    case 'cancel':
      if (state.kind !== 'analysing') return state;
      return {
        kind: 'idle',
        seriesInstanceUid: event.seriesInstanceUid,
        note: 'Analysis cancelled.',
      };
    case 'viewport-slice':
      if (state.kind !== 'result') return state;
      return { ...state, viewportSlice: event.index };
  }
}

/**
 * The per-slice strip entry to highlight for the viewport's slice: the analysed slice nearest to
 * it (the classifier reads a subset of slices), or undefined without per-slice results.
 */
export function stripSlice(state: PanelState): SliceProbabilities | undefined {
  if (state.kind !== 'result' || state.slices.length === 0 || state.viewportSlice === undefined)
    return undefined;
  let best = state.slices[0];
  for (const s of state.slices)
    if (Math.abs(s.index - state.viewportSlice) < Math.abs(best.index - state.viewportSlice))
      best = s;
  return best;
}

/** "Portal-venous 93%": the panel's headline. */
export function headline(summary: PhaseSummary): string {
  const name = summary.phase.charAt(0).toUpperCase() + summary.phase.slice(1);
  // No percentage beside "Indeterminate": the number would read as confidence in no phase.
  if (summary.phase === 'indeterminate') return name;
  return `${name} ${Math.round(summary.confidence * 100)}%`;
}
