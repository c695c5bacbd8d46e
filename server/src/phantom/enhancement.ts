/**
 * Time-attenuation curves per structure, from ../shared/docs/enhancement.md (120 kVp, typical
 * adult, ~1.5-2 mL/kg of 300-370 mgI/mL at 3-4 mL/s). Values are mid-range absolute HU at the
 * table's time points; between points the curve is linear in time, before contrast arrives it is
 * the unenhanced value.
 */
import type { Phase } from '../domain/phase';

/** Seconds after injection start of the table's columns (20-25 s ... 10-15 min). */
export const TIME_POINTS = [22.5, 40, 70, 105, 240, 750] as const;
/** Contrast reaches the aorta about 13 s after injection start (RB22); before that, no change. */
export const ARRIVAL_SECONDS = 13;

/** Unenhanced HU, then HU at each of TIME_POINTS. */
export const CURVES = {
  aorta: { unenhanced: 45, points: [275, 325, 175, 150, 125, 102] },
  artery: { unenhanced: 45, points: [240, 290, 160, 140, 120, 100] },
  'portal-vein': { unenhanced: 45, points: [85, 160, 190, 160, 125, 102] },
  'splenic-vein': { unenhanced: 45, points: [115, 200, 185, 157, 125, 102] },
  'hepatic-vein': { unenhanced: 45, points: [47, 77, 165, 155, 125, 102] },
  ivc: { unenhanced: 45, points: [47, 90, 140, 145, 125, 102] },
  'renal-vein': { unenhanced: 45, points: [150, 200, 180, 160, 125, 102] },
  'iliac-vein': { unenhanced: 45, points: [46, 60, 110, 140, 125, 102] },
  liver: { unenhanced: 60, points: [72, 90, 115, 110, 97, 87] },
  spleen: { unenhanced: 50, points: [140, 150, 130, 120, 102, 92] },
  pancreas: { unenhanced: 45, points: [95, 120, 105, 92, 82, 72] },
  'renal-cortex': { unenhanced: 35, points: [190, 240, 195, 180, 150, 120] },
  'renal-medulla': { unenhanced: 35, points: [65, 105, 175, 195, 200, 135] },
  'collecting-system': { unenhanced: 8, points: [8, 8, 10, 40, 900, 1250] },
  bladder: { unenhanced: 8, points: [8, 8, 8, 15, 250, 600] },
  adrenal: { unenhanced: 30, points: [75, 85, 85, 77, 67, 55] },
  'bowel-wall': { unenhanced: 38, points: [85, 117, 110, 97, 82, 70] },
  muscle: { unenhanced: 48, points: [52, 57, 62, 62, 60, 57] },
  marrow: { unenhanced: 0, points: [7, 15, 20, 17, 10, 5] }, // added to the patient's marrow
  bile: { unenhanced: 10, points: [10, 10, 10, 10, 10, 10] },
  // Hepatocellular carcinoma [E]: arterial hyperenhancement, then washout below the liver from
  // the portal-venous phase on (the LI-RADS major features), so the lesion flips against the liver.
  hcc: { unenhanced: 42, points: [120, 135, 100, 88, 78, 70] },
} satisfies Record<string, { unenhanced: number; points: readonly number[] }>;

/** A structure's enhancement behaviour: one row of the table above. */
export type Tissue = keyof typeof CURVES;

/** Blood: enhances with injection rate and cardiac output (generator 3's vascular gain). */
export const BLOOD_TISSUES: ReadonlySet<Tissue> = new Set<Tissue>([
  'aorta',
  'artery',
  'portal-vein',
  'splenic-vein',
  'hepatic-vein',
  'ivc',
  'renal-vein',
  'iliac-vein',
]);
/** Parenchyma: enhances with iodine dose per body weight (the parenchymal gain). */
export const PARENCHYMA_TISSUES: ReadonlySet<Tissue> = new Set<Tissue>([
  'liver',
  'spleen',
  'pancreas',
  'renal-cortex',
  'renal-medulla',
  'adrenal',
  'bowel-wall',
  'hcc',
]);
/** Urine: enhances with renal function (the excretion gain). */
export const URINE_TISSUES: ReadonlySet<Tissue> = new Set<Tissue>(['collecting-system', 'bladder']);

/** Enhancement (HU above unenhanced) of a tissue at `seconds` after injection; 0 without contrast. */
export function enhancementAt(tissue: Tissue, seconds: number | undefined): number {
  if (seconds === undefined || seconds <= ARRIVAL_SECONDS) return 0;
  const { unenhanced, points } = CURVES[tissue];
  const times = [ARRIVAL_SECONDS, ...TIME_POINTS];
  const values = [unenhanced, ...points];
  if (seconds >= times[times.length - 1]) return values[values.length - 1] - unenhanced;
  let i = 0;
  while (seconds > times[i + 1]) i++;
  const f = (seconds - times[i]) / (times[i + 1] - times[i]);
  return values[i] + f * (values[i + 1] - values[i]) - unenhanced;
}

/** Phase a radiologist would call at this time after injection (enhancement.md, section 3). */
export function phaseAt(seconds: number | undefined): Phase {
  if (seconds === undefined) return 'non-contrast';
  if (seconds < 50) return 'arterial';
  if (seconds < 150) return 'portal-venous';
  return 'delayed';
}

/** Iodine attenuation relative to 120 kVp (enhancement.md section 2, patients). */
export const IODINE_FACTOR: Record<number, number> = { 80: 1.6, 100: 1.3, 120: 1, 140: 0.85 };
/** Fat HU by kVp (HW12 phantom values). */
export const FAT_HU: Record<number, number> = { 80: -135, 100: -125, 120: -110, 140: -104 };
/** Bone attenuation relative to 120 kVp [E]. */
export const BONE_FACTOR: Record<number, number> = { 80: 1.3, 100: 1.12, 120: 1, 140: 0.92 };
