import type { Phase } from './phase';

/**
 * An attribution map over a whole series (what the architecture document calls AttributionMap):
 * a map per source slice on the CT grid, made when a slice is asked for. A map is kept at the
 * network's input resolution (16 times smaller than a 512 x 512 grid), so a long series with
 * several maps never holds them all at full resolution: writers take a slice, use it, drop it.
 */
export interface AttributionMap {
  method: string;
  layer?: string;
  target: Phase;
  /** Source slices the map covers (the series' slice count). */
  readonly slices: number;
  /** Values of source slice `slice` (0-based) on the CT grid, rows x columns, made now. */
  sliceValues(slice: number): Float32Array;
  /** The largest value (at least 0, at least every value of every slice). */
  readonly max: number;
  /** The colour scale for showing the map: the 99.5th percentile of its positive values. */
  readonly scale: number;
  /** The network it explains (an ensemble's member folder), where known. */
  readonly network?: string;
}

/** A map's name where one name is needed (API keys, folders, files): method, then layer if any. */
export function mapKey(map: Pick<AttributionMap, 'method' | 'layer'>): string {
  return `${map.method}${map.layer ? `-${map.layer}` : ''}`;
}
