import { type PhaseLensClient, ServiceError } from '../api';
import type { PhaseSummary } from '../types';
import { type PanelEvent, type PanelState, initialState, reduce } from '../panel-state';
import { loadDerivedSeries } from '../ohif/derived-series';
import { DEFAULT_STYLE, MapOverlay, type OverlayStyle } from '../ohif/overlay';
import type { PanelProps, PhaseLensConfiguration } from '../ohif/types';
import { type ActiveSeries, ViewerLink } from '../ohif/viewer-link';

/** What the panel view renders besides the reducer's state. */
export interface PanelView {
  state: PanelState;
  series?: ActiveSeries;
  /** The map shown as an overlay, by its service name ('sam-conv5'). */
  overlay?: string;
  overlayBusy: boolean;
  overlayError?: string;
  style: OverlayStyle;
}

/**
 * The panel's behaviour, apart from its looks: follows the active series, asks the service for
 * a stored phase, runs analyses with progress and cancel, and drives the map overlay.
 */
export class PanelController {
  private view: PanelView = { state: initialState, overlayBusy: false, style: DEFAULT_STYLE };
  private readonly listeners = new Set<(v: PanelView) => void>();
  private readonly link: ViewerLink;
  private readonly overlay: MapOverlay;
  private following?: AbortController;
  private readonly maps?: string[];

  constructor(
    private readonly props: PanelProps,
    config: PhaseLensConfiguration,
    private readonly client: PhaseLensClient,
    /** Told of every result the panel shows (the study browser's badges). */
    private readonly onResult: (
      seriesInstanceUid: string,
      summary: PhaseSummary,
    ) => void = () => {},
  ) {
    this.overlay = new MapOverlay(props);
    this.maps = config.maps;
    this.link = new ViewerLink(
      props,
      (series) => this.seriesChanged(series),
      (index) => this.dispatch({ type: 'viewport-slice', index }),
    );
    this.seriesChanged(this.link.activeSeries());
  }

  subscribe(listener: (v: PanelView) => void): () => void {
    this.listeners.add(listener);
    listener(this.view);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<PanelView>): void {
    this.view = { ...this.view, ...patch };
    for (const l of this.listeners) l(this.view);
  }

  private dispatch(event: PanelEvent): void {
    const state = reduce(this.view.state, event);
    if (state === this.view.state) return;
    this.set({ state });
    if (state.kind === 'result') this.onResult(state.seriesInstanceUid, state.summary);
  }

  private seriesChanged(series: ActiveSeries | undefined): void {
    const same = series?.seriesInstanceUid === this.view.series?.seriesInstanceUid;
    if (same) return;
    this.following?.abort();
    this.set({ series, overlay: undefined, overlayError: undefined });
    this.dispatch({ type: 'series-changed', seriesInstanceUid: series?.seriesInstanceUid });
    if (!series) return;
    // An auto-tagged series shows its phase at once, without analysing.
    const uid = series.seriesInstanceUid;
    this.client.storedPhase(uid).then(
      (summary) => this.dispatch({ type: 'stored-result', seriesInstanceUid: uid, summary }),
      (error: unknown) =>
        this.dispatch({
          type: 'stored-result-failed',
          seriesInstanceUid: uid,
          failure: error instanceof ServiceError ? error.failure : {},
        }),
    );
    const slice = this.link.currentSlice();
    if (slice !== undefined) this.dispatch({ type: 'viewport-slice', index: slice });
  }

  async analyse(): Promise<void> {
    const series = this.view.series;
    if (!series) return;
    const uid = series.seriesInstanceUid;
    this.dispatch({ type: 'analyse', seriesInstanceUid: uid });
    const following = new AbortController();
    this.following = following;
    try {
      const { id } = await this.client.analyse(series.studyInstanceUid, uid, this.maps);
      this.dispatch({ type: 'accepted', seriesInstanceUid: uid, analysisId: id });
      await this.client.follow(
        id,
        (view) => this.dispatch({ type: 'update', seriesInstanceUid: uid, view }),
        following.signal,
      );
      const slice = this.link.currentSlice();
      if (slice !== undefined) this.dispatch({ type: 'viewport-slice', index: slice });
      await this.showDerivedSeries(series.studyInstanceUid);
    } catch (error) {
      if (following.signal.aborted) return;
      this.dispatch({
        type: 'request-failed',
        seriesInstanceUid: uid,
        failure: error instanceof ServiceError ? error.failure : {},
      });
    }
  }

  /** The maps just written (Secondary Captures, Parametric Maps) appear in the study browser. */
  private async showDerivedSeries(studyInstanceUid: string): Promise<void> {
    const { state } = this.view;
    const derived = state.kind === 'result' ? state.derivedSeries : undefined;
    if (!derived) return;
    const uids = [
      ...Object.values(derived.secondaryCaptures),
      ...Object.values(derived.parametricMaps),
    ];
    if (!uids.length) return;
    try {
      await loadDerivedSeries(this.props, studyInstanceUid, uids);
    } catch (error) {
      this.set({ overlayError: `The maps are stored, but ${(error as Error).message}.` });
    }
  }

  /** Stops following the analysis here (the service finishes it; its result stays stored). */
  cancel(): void {
    const series = this.view.series;
    if (!series) return;
    this.following?.abort();
    this.dispatch({ type: 'cancel', seriesInstanceUid: series.seriesInstanceUid });
  }

  async toggleMap(name: string): Promise<void> {
    const { state, series } = this.view;
    if (this.view.overlay === name) {
      await this.overlay.hide();
      this.set({ overlay: undefined });
      return;
    }
    const mapSeries =
      state.kind === 'result' ? state.derivedSeries?.parametricMaps[name] : undefined;
    const viewportId = this.link.activeViewportId;
    if (!series || !mapSeries || !viewportId) return;
    this.set({ overlayBusy: true, overlayError: undefined });
    try {
      await this.overlay.show(viewportId, series.studyInstanceUid, mapSeries, this.view.style);
      this.set({ overlay: name, overlayBusy: false });
    } catch (error) {
      this.set({
        overlayBusy: false,
        overlayError: `The ${name} map could not be shown: ${(error as Error).message}`,
      });
    }
  }

  setStyle(patch: Partial<OverlayStyle>): void {
    const style = { ...this.view.style, ...patch };
    this.set({ style });
    this.overlay.restyle(style);
  }

  dispose(): void {
    this.following?.abort();
    this.link.dispose();
  }
}
