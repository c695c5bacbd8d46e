import type { DisplaySet, PanelProps } from './types';

/** Colour maps offered for overlays: vtk.js presets that Cornerstone3D in OHIF 3.13 knows. */
export const COLOR_MAPS = ['jet', 'hsv', 'Inferno (matplotlib)', 'Viridis (matplotlib)'] as const;
export type ColorMapName = (typeof COLOR_MAPS)[number];

export interface OverlayStyle {
  colormap: ColorMapName;
  /** 0..1 */
  opacity: number;
  /** Fraction of the map's maximum below which the overlay is transparent, 0..1. */
  threshold: number;
}

export const DEFAULT_STYLE: OverlayStyle = { colormap: 'jet', opacity: 0.5, threshold: 0.2 };

/** PhaseLens writes 16-bit maps with the series maximum at 65535 (server/src/derived). */
const MAP_MAX = 65535;

/**
 * The opacity transfer function for a style: transparent up to the threshold, then the chosen
 * opacity. OHIF ignores the map's Real World Value Mapping and windows on the stored values.
 */
export function opacityPoints(style: OverlayStyle): { value: number; opacity: number }[] {
  const cut = Math.round(Math.min(Math.max(style.threshold, 0), 1) * MAP_MAX);
  return [
    { value: 0, opacity: 0 },
    { value: cut, opacity: 0 },
    { value: Math.min(cut + 1, MAP_MAX), opacity: style.opacity },
    { value: MAP_MAX, opacity: style.opacity },
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A PhaseLens Parametric Map shown as a layer over the CT in the active viewport, through OHIF's
 * own parametric-map support (its display set, a volume viewport, the cornerstone commands).
 */
export class MapOverlay {
  private shown?: { viewportId: string; displaySetInstanceUID: string };

  constructor(private readonly props: PanelProps) {}

  get isShown(): boolean {
    return this.shown !== undefined;
  }

  /** The map's display set; maps written after the study was opened are fetched first. */
  private async displaySetOf(
    studyInstanceUid: string,
    seriesInstanceUid: string,
  ): Promise<DisplaySet> {
    const { displaySetService } = this.props.servicesManager.services;
    const existing = displaySetService.getDisplaySetsForSeries(seriesInstanceUid)[0];
    if (existing) return existing;
    const [dataSource] = this.props.extensionManager.getActiveDataSource();
    // OHIF caches a study's metadata; drop the cache (3.13 keys it as "name:uid" but deletes by
    // uid, so try both) and read just the new series.
    const name = dataSource.getConfig?.()?.name;
    const forget = () => {
      dataSource.deleteStudyMetadataPromise?.(studyInstanceUid);
      if (name) dataSource.deleteStudyMetadataPromise?.(`${name}:${studyInstanceUid}`);
    };
    forget();
    await dataSource.retrieve.series.metadata({
      StudyInstanceUID: studyInstanceUid,
      filters: { seriesInstanceUID: [seriesInstanceUid] },
    });
    forget();
    for (let waited = 0; waited < 15000; waited += 100) {
      const found = displaySetService.getDisplaySetsForSeries(seriesInstanceUid)[0];
      if (found) return found;
      await sleep(100);
    }
    throw new Error('The map is in the archive but the viewer did not load it.');
  }

  async show(
    viewportId: string,
    studyInstanceUid: string,
    seriesInstanceUid: string,
    style: OverlayStyle,
  ): Promise<void> {
    await this.hide();
    const displaySet = await this.displaySetOf(studyInstanceUid, seriesInstanceUid);
    const { commandsManager } = this.props;
    commandsManager.runCommand('addDisplaySetAsLayer', {
      viewportId,
      displaySetInstanceUID: displaySet.displaySetInstanceUID,
    });
    this.shown = { viewportId, displaySetInstanceUID: displaySet.displaySetInstanceUID };
    // The layer is in the viewport once its volume has loaded; styling it earlier would colour
    // the CT instead (OHIF falls back to the viewport's first volume).
    for (let waited = 0; !this.layerReady(); waited += 200) {
      if (waited > 30000) throw new Error('the viewer did not load the map in 30 s.');
      await sleep(200);
    }
    this.restyle(style);
  }

  private layerReady(): boolean {
    if (!this.shown) return false;
    const services = this.props.servicesManager.services as unknown as {
      cornerstoneViewportService?: {
        getCornerstoneViewport(id: string): { getAllVolumeIds?: () => string[] } | undefined;
      };
    };
    const uid = this.shown.displaySetInstanceUID;
    const viewport = services.cornerstoneViewportService?.getCornerstoneViewport(
      this.shown.viewportId,
    );
    return viewport?.getAllVolumeIds?.().some((id) => id.includes(uid)) ?? false;
  }

  /** Applies a style to the shown layer; false while the layer is not ready for it. */
  restyle(style: OverlayStyle): boolean {
    if (!this.layerReady() || !this.shown) return false;
    try {
      this.props.commandsManager.runCommand('setViewportColormap', {
        ...this.shown,
        colormap: { name: style.colormap, opacity: opacityPoints(style) },
        opacity: opacityPoints(style),
        immediate: true,
      });
      return true;
    } catch {
      return false;
    }
  }

  async hide(): Promise<void> {
    if (!this.shown) return;
    const shown = this.shown;
    this.shown = undefined;
    this.props.commandsManager.runCommand('removeDisplaySetLayer', shown);
  }
}
