import type { Phase } from '../domain/phase';
import { CURVES, enhancementAt, type Tissue } from '../phantom/enhancement';
import { STRUCTURES } from '../phantom/structures';

/** Seconds after injection that stand for each contrast phase (enhancement.md, section 3). */
const PHASE_SECONDS: Record<Phase, number | undefined> = {
  'non-contrast': undefined,
  arterial: 35,
  'portal-venous': 70,
  delayed: 300,
};

/** A structure carries a phase when its HU there differs this much from the other phases' mean. */
export const MASK_MIN_DIFFERENCE_HU = 40;

const huAt = (tissue: Tissue, phase: Phase): number =>
  CURVES[tissue].unenhanced + enhancementAt(tissue, PHASE_SECONDS[phase]);

/**
 * Ground truth per decided phase, from the generator's own time-attenuation table: the
 * structures whose HU in that phase differs by at least MASK_MIN_DIFFERENCE_HU from their mean
 * over the other three phases (the evidence a reader would use to tell that phase from the
 * others). Structure ids of the phantom label maps.
 */
export function phaseMaskStructures(phase: Phase): number[] {
  const phases: Phase[] = ['non-contrast', 'arterial', 'portal-venous', 'delayed'];
  const others = phases.filter((p) => p !== phase);
  return STRUCTURES.filter((s) => {
    // Bowel labels hold the lumen too, whose contents (gas, fluid, oral contrast) follow no curve.
    if (!s.tissue || s.tissue === 'bowel-wall') return false;
    const tissue = s.tissue;
    const rest = others.reduce((a, p) => a + huAt(tissue, p), 0) / others.length;
    return Math.abs(huAt(tissue, phase) - rest) >= MASK_MIN_DIFFERENCE_HU;
  }).map((s) => s.id);
}
