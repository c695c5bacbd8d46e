import type { DerivedKind } from './derive';
import type { EncodedObject } from './encoded';

/**
 * One series an analysis writes back, whatever its kind: what the API names it by (kind and
 * key), its UID, and its objects, each made and encoded only as it is asked for.
 */
export interface DerivedSeries {
  /** Which kind of series (DerivedKinds in derive.ts names them all). */
  readonly kind: DerivedKind;
  /** The map it shows ('sam', 'gradcam-conv5'); empty for a series about the whole analysis. */
  readonly key: string;
  readonly seriesInstanceUid: string;
  /** Objects (instances) in the series. */
  readonly count: number;
  /**
   * Written after every other series: its presence in the PACS says the result is complete
   * (the phase report), so a failure part-way never leaves it behind.
   */
  readonly completes?: boolean;
  objects(): Generator<EncodedObject>;
}
