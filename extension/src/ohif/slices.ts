import type { InstanceMetadata } from './types';

/** SOP Instance UID of a WADO-RS image id ('wadors:/dicom-web/studies/../instances/UID/frames/1'). */
export function sopInstanceOfImageId(imageId: string): string | undefined {
  return /\/instances\/([0-9.]+)(?:\/|$)/.exec(imageId)?.[1];
}

/**
 * Index of each instance in the series sorted along the slice normal, lowest first: the order
 * the PhaseLens service numbers slices in (server/src/series/assemble.ts).
 */
export function sliceIndexBySop(images: InstanceMetadata[]): Map<string, number> {
  const o = images.find((i) => i.ImageOrientationPatient)?.ImageOrientationPatient;
  const n = o
    ? [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]]
    : [0, 0, 1];
  const along = images.map((i) => {
    const p = i.ImagePositionPatient ?? [0, 0, 0];
    return { uid: i.SOPInstanceUID, d: p[0] * n[0] + p[1] * n[1] + p[2] * n[2] };
  });
  along.sort((a, b) => a.d - b.d);
  return new Map(along.map((a, i) => [a.uid, i]));
}

/** The SOP Instance UID a (naturalised) Source or Referenced Image Sequence points to. */
export function referencedSop(sequence: unknown): string | undefined {
  const item = (Array.isArray(sequence) ? sequence[0] : sequence) as
    { ReferencedSOPInstanceUID?: unknown } | undefined;
  const uid = item?.ReferencedSOPInstanceUID;
  return typeof uid === 'string' && uid ? uid : undefined;
}
