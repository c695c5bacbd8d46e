import { referencedSop, sliceIndexBySop, sopInstanceOfImageId } from './slices';
import type { DisplaySet, InstanceMetadata, PanelProps, Subscription } from './types';

/** The series the radiologist is reading: the first display set of the active viewport. */
export interface ActiveSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  description?: string;
}

/** Cornerstone3D's events for a new slice in a stack or volume viewport (they do not bubble). */
const NEW_SLICE_EVENTS = ['CORNERSTONE_STACK_NEW_IMAGE', 'CORNERSTONE_VOLUME_NEW_IMAGE'];

interface CornerstoneViewport {
  getCurrentImageId?: () => string | undefined;
}
interface CornerstoneViewportService {
  getCornerstoneViewport(viewportId: string): CornerstoneViewport | undefined;
}

/**
 * Everything the panel needs from the viewer, in PhaseLens terms: which series is active, which
 * of its slices the viewport shows, and the series of the study (to find derived objects).
 */
export class ViewerLink {
  private readonly subscriptions: Subscription[] = [];
  private readonly sliceListener: (e: Event) => void;
  private sliceIndex?: Map<string, number>;
  private sliceIndexSeries?: string;

  constructor(
    private readonly props: PanelProps,
    onSeries: (series: ActiveSeries | undefined) => void,
    onSlice: (index: number) => void,
  ) {
    const { displaySetService, viewportGridService } = props.servicesManager.services;
    const seriesChanged = (): void => onSeries(this.activeSeries());
    for (const event of [
      viewportGridService.EVENTS.ACTIVE_VIEWPORT_ID_CHANGED,
      viewportGridService.EVENTS.GRID_STATE_CHANGED,
      viewportGridService.EVENTS.VIEWPORTS_READY,
    ])
      if (event) this.subscriptions.push(viewportGridService.subscribe(event, seriesChanged));
    this.subscriptions.push(
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, seriesChanged),
    );
    this.sliceListener = (e: Event) => {
      const detail = (e as CustomEvent<{ viewportId?: string }>).detail;
      const index = this.currentSlice(detail?.viewportId);
      if (index !== undefined) onSlice(index);
    };
    // Capture on the document: the viewport elements dispatch these without bubbling.
    for (const type of NEW_SLICE_EVENTS) document.addEventListener(type, this.sliceListener, true);
  }

  private activeDisplaySet(): { viewportId: string; displaySet: DisplaySet } | undefined {
    const { displaySetService, viewportGridService } = this.props.servicesManager.services;
    const { activeViewportId, viewports } = viewportGridService.getState();
    if (!activeViewportId) return undefined;
    const uid = viewports.get(activeViewportId)?.displaySetInstanceUIDs?.[0];
    const displaySet = uid ? displaySetService.getDisplaySetByUID(uid) : undefined;
    return displaySet ? { viewportId: activeViewportId, displaySet } : undefined;
  }

  /**
   * The CT series a PhaseLens map was made from, when the active display set is one (a
   * Parametric Map names its series; a Secondary Capture image names its source image).
   */
  private sourceOf(ds: DisplaySet): DisplaySet | undefined {
    const { displaySetService } = this.props.servicesManager.services;
    if (ds.referencedSeriesInstanceUID)
      return displaySetService.getDisplaySetsForSeries(ds.referencedSeriesInstanceUID)[0];
    const first = (ds.images ?? ds.instances)?.[0] as
      (InstanceMetadata & { Manufacturer?: string; SourceImageSequence?: unknown }) | undefined;
    if (first?.Manufacturer !== 'PhaseLens') return undefined;
    const sop = referencedSop(first.SourceImageSequence);
    if (!sop) return undefined;
    return displaySetService
      .getActiveDisplaySets()
      .find((d) => d.images?.some((i) => i.SOPInstanceUID === sop));
  }

  activeSeries(): ActiveSeries | undefined {
    const active = this.activeDisplaySet();
    if (!active) return undefined;
    const shown = active.displaySet;
    const ds = this.sourceOf(shown) ?? shown;
    return {
      studyInstanceUid: ds.StudyInstanceUID,
      seriesInstanceUid: ds.SeriesInstanceUID,
      modality: ds.Modality,
      description:
        ds === shown ? ds.SeriesDescription : `${ds.SeriesDescription ?? 'CT'}, through its map`,
    };
  }

  get activeViewportId(): string | undefined {
    return this.activeDisplaySet()?.viewportId;
  }

  /** The slice the active viewport shows, as the service numbers slices. */
  currentSlice(viewportId?: string): number | undefined {
    const active = this.activeDisplaySet();
    if (!active || (viewportId && viewportId !== active.viewportId)) return undefined;
    const services = this.props.servicesManager.services as unknown as {
      cornerstoneViewportService?: CornerstoneViewportService;
    };
    const imageId = services.cornerstoneViewportService
      ?.getCornerstoneViewport(active.viewportId)
      ?.getCurrentImageId?.();
    let sop = imageId ? sopInstanceOfImageId(imageId) : undefined;
    if (!sop) return undefined;
    // A PhaseLens Secondary Capture image stands for the CT image it was made from.
    let series = active.displaySet;
    const source = this.sourceOf(series);
    if (source) {
      const image = series.images?.find((i) => i.SOPInstanceUID === sop) as
        (InstanceMetadata & { SourceImageSequence?: unknown }) | undefined;
      // (Shown over its CT in OHIF's parametric-map viewport, a map shows the CT's own images.)
      if (image) sop = referencedSop(image.SourceImageSequence);
      series = source;
      if (!sop) return undefined;
    }
    if (this.sliceIndexSeries !== series.displaySetInstanceUID) {
      this.sliceIndex = sliceIndexBySop(series.images ?? []);
      this.sliceIndexSeries = series.displaySetInstanceUID;
    }
    return this.sliceIndex?.get(sop);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.unsubscribe();
    for (const type of NEW_SLICE_EVENTS)
      document.removeEventListener(type, this.sliceListener, true);
  }
}
