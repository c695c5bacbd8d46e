import type { Tissue } from './enhancement';

/** Structures of the phantom label map: id, name, and the curve that sets their HU. */
export interface Structure {
  id: number;
  name: string;
  tissue?: Tissue;
  /** SPL atlas labels drawn as this structure. */
  atlas: number[];
}

export const STRUCTURES: Structure[] = [
  { id: 1, name: 'aorta', tissue: 'aorta', atlas: [7] },
  {
    id: 2,
    name: 'visceral and iliac arteries',
    tissue: 'artery',
    atlas: [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 29, 71, 72, 73, 74, 75, 76, 126, 127, 227],
  },
  { id: 3, name: 'portal and superior mesenteric vein', tissue: 'portal-vein', atlas: [12] },
  { id: 4, name: 'splenic vein', tissue: 'splenic-vein', atlas: [117] },
  { id: 5, name: 'hepatic veins', tissue: 'hepatic-vein', atlas: [151, 153] },
  { id: 6, name: 'inferior vena cava', tissue: 'ivc', atlas: [8] },
  { id: 7, name: 'renal veins', tissue: 'renal-vein', atlas: [128, 129] },
  { id: 8, name: 'iliac veins', tissue: 'iliac-vein', atlas: [81, 82, 83, 84, 85, 86] },
  { id: 9, name: 'liver', tissue: 'liver', atlas: [3] },
  { id: 10, name: 'spleen', tissue: 'spleen', atlas: [4] },
  { id: 11, name: 'pancreas', tissue: 'pancreas', atlas: [6] },
  { id: 12, name: 'renal cortex', tissue: 'renal-cortex', atlas: [] },
  { id: 13, name: 'renal medulla', tissue: 'renal-medulla', atlas: [51, 52] },
  {
    id: 14,
    name: 'collecting system and ureters',
    tissue: 'collecting-system',
    atlas: [141, 142, 145, 146],
  },
  { id: 15, name: 'bladder', tissue: 'bladder', atlas: [] },
  { id: 16, name: 'adrenal glands', tissue: 'adrenal', atlas: [111, 112] },
  { id: 17, name: 'stomach and duodenum', tissue: 'bowel-wall', atlas: [13] },
  { id: 18, name: 'small bowel and colon', tissue: 'bowel-wall', atlas: [9] },
  {
    id: 19,
    name: 'muscle',
    tissue: 'muscle',
    atlas: [
      32, 131, 133, 135, 136, 137, 138, 139, 140, 143, 231, 233, 235, 236, 237, 238, 239, 240, 241,
    ],
  },
  {
    id: 20,
    name: 'bone',
    tissue: 'marrow',
    atlas: [
      299, 409, 410, 411, 412, 501, 502, 503, 504, 505, 600, 686, 687, 688, 689, 690, 691, 692,
    ],
  },
  { id: 21, name: 'intervertebral discs', atlas: [551, 552, 553, 554, 555, 556, 557, 558, 559] },
  { id: 22, name: 'gallbladder', tissue: 'bile', atlas: [10] },
  { id: 23, name: 'fat', atlas: [699] },
  { id: 24, name: 'lung', atlas: [] },
  { id: 25, name: 'skin', atlas: [] },
  { id: 26, name: 'table', atlas: [] },
  { id: 27, name: 'metal', atlas: [] },
  { id: 28, name: 'calcification', atlas: [] },
  { id: 29, name: 'cyst', atlas: [] },
  { id: 30, name: 'lipiodol', atlas: [] },
  { id: 31, name: 'liver tumour', tissue: 'hcc', atlas: [] },
];

export const S = Object.fromEntries(STRUCTURES.map((s) => [s.name, s.id])) as Record<
  string,
  number
>;
export const STRUCTURE_COUNT = 32;

/** Legend written beside each label map. */
export function legend(): Record<string, { name: string; atlasLabels: number[] }> {
  return Object.fromEntries(
    STRUCTURES.map((s) => [String(s.id), { name: s.name, atlasLabels: s.atlas }]),
  );
}
