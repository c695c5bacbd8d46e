/** What a watcher knows of a new series before deciding to analyse it. */
export interface SeriesFacts {
  modality?: string;
  instances: number;
  /** First instance's ImageType, values joined by backslashes. */
  imageType?: string;
  manufacturer?: string;
  orientation?: number[];
}

/**
 * Why a new series is not one to tag, or undefined when it is: watchers analyse axial CT
 * acquisitions only (no other modality, localiser, derived image or PhaseLens output).
 */
export function screenSeries(f: SeriesFacts): string | undefined {
  if (f.modality !== 'CT') return `modality ${f.modality ?? 'unknown'}`;
  if (f.instances < 3) return `${f.instances} instances (localiser or single image)`;
  const imageType = (f.imageType ?? '').toUpperCase();
  if (imageType.includes('LOCALIZER')) return 'localiser';
  if (imageType.startsWith('DERIVED')) return 'derived images';
  if (f.manufacturer === 'PhaseLens') return 'PhaseLens output';
  const o = f.orientation;
  if (o && o.length === 6) {
    const nz = o[0] * o[4] - o[1] * o[3];
    if (Math.abs(nz) < 0.9) return 'not axial';
  }
  return undefined;
}
