import {
  headline,
  initialState,
  reduce,
  stripSlice,
  type PanelEvent,
  type PanelState,
} from '../src/panel-state';
import type { AnalysisView, Probabilities } from '../src/types';

const S = '1.2.3.4';
const p = (nc: number, a: number, pv: number, d: number): Probabilities => ({
  'non-contrast': nc,
  arterial: a,
  'portal-venous': pv,
  delayed: d,
});
const run = (events: PanelEvent[], from: PanelState = initialState): PanelState =>
  events.reduce(reduce, from);
const view = (over: Partial<AnalysisView>): AnalysisView => ({
  id: 'a1',
  state: 'running',
  progress: { stage: 'reading', fraction: 0.1 },
  request: { studyInstanceUid: '1.2.3', seriesInstanceUid: S },
  createdAt: '2026-12-07T09:00:00.000Z',
  ...over,
});

describe('the phase panel state', () => {
  it('shows a result stored in the PACS at once, without analysing', () => {
    const s = run([
      { type: 'series-changed', seriesInstanceUid: S },
      {
        type: 'stored-result',
        seriesInstanceUid: S,
        summary: {
          phase: 'arterial',
          confidence: 0.91,
          probabilities: p(0.02, 0.91, 0.05, 0.02),
          model: { name: 'm', version: '1' },
        },
      },
    ]);
    expect(s).toMatchObject({ kind: 'result', source: 'pacs', summary: { phase: 'arterial' } });
    if (s.kind === 'result') expect(headline(s.summary)).toBe('Arterial 91%');
  });

  it('analyses: progress only forward, then the result with the per-slice strip', () => {
    const done = view({
      state: 'done',
      progress: { stage: 'done', fraction: 1 },
      result: {
        phase: 'portal-venous',
        confidence: 0.8,
        probabilities: p(0.05, 0.1, 0.8, 0.05),
        model: { name: 'm', version: '1' },
        slices: [
          { index: 30, probabilities: p(0, 0.1, 0.9, 0) },
          { index: 10, probabilities: p(0.1, 0.2, 0.6, 0.1) },
          { index: 20, probabilities: p(0, 0.2, 0.8, 0) },
        ],
        derivedSeries: { secondaryCaptures: {}, parametricMaps: { sam: '1.2.3.9' } },
      },
    });
    let s = run([
      { type: 'series-changed', seriesInstanceUid: S },
      { type: 'stored-result-failed', seriesInstanceUid: S, failure: { status: 404 } },
      { type: 'analyse', seriesInstanceUid: S },
      { type: 'accepted', seriesInstanceUid: S, analysisId: 'a1' },
      {
        type: 'update',
        seriesInstanceUid: S,
        view: view({ progress: { stage: 'maps', fraction: 0.6 } }),
      },
      {
        type: 'update',
        seriesInstanceUid: S,
        view: view({ progress: { stage: 'reading', fraction: 0.3 } }),
      },
    ]);
    expect(s).toMatchObject({ kind: 'analysing', fraction: 0.6 });
    s = run(
      [
        { type: 'update', seriesInstanceUid: S, view: done },
        { type: 'viewport-slice', index: 18 },
      ],
      s,
    );
    expect(s).toMatchObject({ kind: 'result', source: 'service' });
    if (s.kind === 'result') expect(s.slices.map((x) => x.index)).toEqual([10, 20, 30]);
    expect(stripSlice(s)?.index).toBe(20);
    s = reduce(s, { type: 'viewport-slice', index: 29 });
    expect(stripSlice(s)?.index).toBe(30);
  });

  it('ignores late answers for a series the user has left, and events of other analyses', () => {
    const s = run([
      { type: 'series-changed', seriesInstanceUid: S },
      { type: 'analyse', seriesInstanceUid: S },
      { type: 'accepted', seriesInstanceUid: S, analysisId: 'a1' },
      { type: 'series-changed', seriesInstanceUid: '9.9' },
      { type: 'update', seriesInstanceUid: S, view: view({ state: 'done' }) },
    ]);
    expect(s).toEqual({ kind: 'checking', seriesInstanceUid: '9.9' });
    const other = run([
      { type: 'series-changed', seriesInstanceUid: S },
      { type: 'analyse', seriesInstanceUid: S },
      { type: 'accepted', seriesInstanceUid: S, analysisId: 'a1' },
      {
        type: 'update',
        seriesInstanceUid: S,
        view: view({ id: 'zz', state: 'failed', error: 'x' }),
      },
    ]);
    expect(other.kind).toBe('analysing');
  });

  it('says what went wrong in words a radiologist understands', () => {
    const base: PanelEvent[] = [
      { type: 'series-changed', seriesInstanceUid: S },
      { type: 'analyse', seriesInstanceUid: S },
    ];
    const unreachable = run([
      ...base,
      { type: 'request-failed', seriesInstanceUid: S, failure: {} },
    ]);
    expect(unreachable).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/cannot be reached/),
    });
    const signIn = run([
      ...base,
      { type: 'request-failed', seriesInstanceUid: S, failure: { status: 401 } },
    ]);
    expect(signIn).toMatchObject({ message: expect.stringMatching(/Sign in to the viewer again/) });
    const busy = run([
      ...base,
      { type: 'request-failed', seriesInstanceUid: S, failure: { status: 429 } },
    ]);
    expect(busy).toMatchObject({ kind: 'analysing', note: expect.stringMatching(/busy/) });
    const pacs = run([
      ...base,
      {
        type: 'update',
        seriesInstanceUid: S,
        view: view({
          state: 'failed',
          error: 'PACS http://pacs/dicom-web unreachable: ECONNREFUSED',
        }),
      },
    ]);
    expect(pacs).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/image archive did not answer/),
    });
    for (const s of [unreachable, signIn, pacs])
      if (s.kind === 'error') expect(s.message).not.toMatch(/ECONNREFUSED|\b40\d\b|\b50\d\b|stack/);
    // The service's error code decides, not the wording of its message.
    const head = run([
      ...base,
      {
        type: 'update',
        seriesInstanceUid: S,
        view: view({
          state: 'failed',
          error: 'out of scope: no abdomen: 0 of 30 slices show an abdominal cross-section',
          errorCode: 'out-of-scope',
        }),
      },
    ]);
    expect(head).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(
        /^PhaseLens gives no phase here: this is not abdominal CT \(no abdomen/,
      ),
    });
  });

  it('shows an indeterminate call as such, with its reason and no percentage', () => {
    const s = run([
      { type: 'series-changed', seriesInstanceUid: S },
      { type: 'analyse', seriesInstanceUid: S },
      {
        type: 'update',
        seriesInstanceUid: S,
        view: view({
          state: 'done',
          result: {
            phase: 'indeterminate',
            reason: "the ensemble's members disagree (portal-venous, delayed, delayed)",
            confidence: 0.62,
            probabilities: p(0.01, 0.02, 0.35, 0.62),
            model: { name: 'phaselens-phase', version: '2.0.0' },
            slices: [],
            derivedSeries: { secondaryCaptures: {}, parametricMaps: {} },
          },
        }),
      },
    ]);
    expect(s.kind).toBe('result');
    if (s.kind !== 'result') return;
    expect(headline(s.summary)).toBe('Indeterminate');
    expect(s.summary.reason).toMatch(/members disagree/);
  });

  it('cancels back to idle and lets the user analyse again', () => {
    const s = run([
      { type: 'series-changed', seriesInstanceUid: S },
      { type: 'analyse', seriesInstanceUid: S },
      { type: 'cancel', seriesInstanceUid: S },
    ]);
    expect(s).toMatchObject({ kind: 'idle', note: 'Analysis cancelled.' });
    expect(reduce(s, { type: 'analyse', seriesInstanceUid: S }).kind).toBe('analysing');
  });
});
