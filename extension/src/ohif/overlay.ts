import { loadDerivedSeries } from './derived-series';
import type { PanelProps } from './types';

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

// Attribution maps are heavy-tailed (a few voxels near the maximum, most near zero), so the
// default threshold is low and the opacity ramps up over the next tenth of the range.
export const DEFAULT_STYLE: OverlayStyle = { colormap: 'jet', opacity: 0.7, threshold: 0.02 };

/**
 * The opacity transfer function for a style: transparent up to the threshold, half the chosen
 * opacity just above it, the full opacity a tenth of the range higher. OHIF ignores the map's
 * Real World Value Mapping and windows on the stored values.
 */
export function opacityPoints(
  style: OverlayStyle,
  max: number,
): { value: number; opacity: number }[] {
  const cut = Math.min(Math.max(style.threshold, 0), 0.99) * max;
  const full = Math.min(cut + 0.1 * max, max);
  return [
    { value: 0, opacity: 0 },
    { value: cut, opacity: 0 },
    { value: cut + 1e-3 * max, opacity: style.opacity / 2 },
    { value: full, opacity: style.opacity },
    ...(full < max ? [{ value: max, opacity: style.opacity }] : []),
  ];
}

/** The slice of Cornerstone3D's viewport API used here. */
interface LayerViewport {
  getAllVolumeIds?: () => string[];
}

type OneOrMany<T> = T | T[] | undefined;
const first = <T>(v: OneOrMany<T>): T | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * The largest stored value of a PhaseLens Parametric Map, from its Real World Value Mapping
 * (16-bit maps map 0..65535; float maps record their maximum as the last value mapped).
 */
export function storedMaximum(instance: Record<string, unknown> | undefined): number {
  const shared = first(
    instance?.SharedFunctionalGroupsSequence as OneOrMany<Record<string, unknown>>,
  );
  const mapping = first(
    shared?.RealWorldValueMappingSequence as OneOrMany<Record<string, unknown>>,
  );
  const last = Number(
    mapping?.DoubleFloatRealWorldValueLastValueMapped ?? mapping?.RealWorldValueLastValueMapped,
  );
  return Number.isFinite(last) && last > 0 ? last : 65535;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A PhaseLens Parametric Map shown as a layer over the CT in the active viewport, through OHIF's
 * own parametric-map support (its display set, a volume viewport, the cornerstone commands).
 */
export class MapOverlay {
  private shown?: { viewportId: string; displaySetInstanceUID: string; max: number };

  constructor(private readonly props: PanelProps) {}

  get isShown(): boolean {
    return this.shown !== undefined;
  }

  async show(
    viewportId: string,
    studyInstanceUid: string,
    seriesInstanceUid: string,
    style: OverlayStyle,
  ): Promise<void> {
    await this.hide();
    const [displaySet] = await loadDerivedSeries(this.props, studyInstanceUid, [seriesInstanceUid]);
    const { commandsManager } = this.props;
    commandsManager.runCommand('addDisplaySetAsLayer', {
      viewportId,
      displaySetInstanceUID: displaySet.displaySetInstanceUID,
    });
    this.shown = {
      viewportId,
      displaySetInstanceUID: displaySet.displaySetInstanceUID,
      max: storedMaximum(displaySet.instance),
    };
    // The layer is in the viewport once its volume has loaded; styling it earlier would colour
    // the CT instead (OHIF falls back to the viewport's first volume).
    for (let waited = 0; !this.restyle(style); waited += 200) {
      if (waited > 30000) throw new Error('the viewer did not load the map in 30 s.');
      await sleep(200);
    }
  }

  private viewport(): LayerViewport | undefined {
    if (!this.shown) return undefined;
    const services = this.props.servicesManager.services as unknown as {
      cornerstoneViewportService?: {
        getCornerstoneViewport(id: string): LayerViewport | undefined;
      };
    };
    return services.cornerstoneViewportService?.getCornerstoneViewport(this.shown.viewportId);
  }

  private layerReady(): boolean {
    const uid = this.shown?.displaySetInstanceUID;
    return (
      (uid &&
        this.viewport()
          ?.getAllVolumeIds?.()
          .some((id) => id.includes(uid))) ||
      false
    );
  }

  /** Applies a style to the shown layer; false while the layer is not ready for it. */
  restyle(style: OverlayStyle): boolean {
    if (!this.shown || !this.layerReady()) return false;
    const opacity = opacityPoints(style, this.shown.max);
    try {
      this.props.commandsManager.runCommand('setViewportColormap', {
        viewportId: this.shown.viewportId,
        displaySetInstanceUID: this.shown.displaySetInstanceUID,
        colormap: { name: style.colormap, opacity },
        opacity,
        immediate: true,
      });
      return true;
    } catch {
      return false;
    }
  }

  async hide(): Promise<void> {
    if (!this.shown) return;
    const { viewportId, displaySetInstanceUID } = this.shown;
    this.shown = undefined;
    this.props.commandsManager.runCommand('removeDisplaySetLayer', {
      viewportId,
      displaySetInstanceUID,
    });
  }
}
