import type { InMemorySeries, Orientation, Vec3 } from '../series/types';
import { defaultCtEncoding, type CtEncoding } from '../series/write-ct';
import { deterministicUid } from '../util/uid';
import { loadAnatomy, OUTSIDE_HOLE, type Anatomy } from './anatomy';
import {
  BLOOD_TISSUES,
  BONE_FACTOR,
  CURVES,
  enhancementAt,
  FAT_HU,
  IODINE_FACTOR,
  PARENCHYMA_TISSUES,
  URINE_TISSUES,
  type Tissue,
} from './enhancement';
import { boxBlur, ctNoise, TextureField, XorShift } from './fields';
import { drawCase, type CaseOptions, type CaseParameters } from './patient';
import { Random } from './random';
import { S, STRUCTURE_COUNT, STRUCTURES } from './structures';

// Local bindings: global lookups (Math.*) are slow in hot loops under vm contexts such as jest's.
const { abs, atan2, ceil, cos, exp, floor, log, max, min, round, sin, sqrt } = Math;

export interface PhantomOptions extends CaseOptions {
  /** Keep at most this many slices (from the middle of the scan range). */
  slices?: number;
}

export interface PhantomCase {
  index: number;
  params: CaseParameters;
  series: InMemorySeries;
  /** Structure id per voxel, on the series grid (STRUCTURES). */
  labels: Uint8Array;
  /** Noise- and texture-free HU of each structure id in this case (NaN where it has no single value). */
  structureHu: Float64Array;
  encoding: CtEncoding;
}

interface Sphere {
  centre: Vec3;
  radius: number;
  hu: number;
  id: number;
  /** Paint only over voxels already labelled this structure (a vessel stays in its organ). */
  within?: number;
}

const HU_MIN = -1024;
const HU_MAX = 3071;

/** Template slice ranges (k, top to bottom) of each scan range on the atlas. */
const RANGES: Record<CaseParameters['range'], [number, number]> = {
  // The atlas reaches from the lung bases (T9) to the sacrum; its first slices hold almost nothing.
  'chest-to-pelvis': [3, 112],
  'abdomen-pelvis': [10, 112],
  'upper-abdomen': [3, 76],
};

/** Noise- and texture-free HU of every structure id for a case's parameters. */
export function structureHuTable(p: CaseParameters): Float64Array {
  const hu = new Float64Array(STRUCTURE_COUNT).fill(Number.NaN);
  const t = p.seconds === undefined ? undefined : p.seconds * p.timeScale;
  const iodine = IODINE_FACTOR[p.kvp] * p.enhancementScale;
  const portal = new Set<Tissue>(['portal-vein', 'splenic-vein']);
  const enh = (tissue: Tissue): number =>
    enhancementAt(tissue, portal.has(tissue) && t !== undefined ? t - p.portalLag : t) * iodine;
  for (const s of STRUCTURES) {
    if (!s.tissue) continue;
    let base = BLOOD_TISSUES.has(s.tissue) ? p.bloodHu : CURVES[s.tissue].unenhanced;
    let gain = p.organGain[s.id] ?? 1;
    if (BLOOD_TISSUES.has(s.tissue)) gain *= p.vascularGain;
    else if (PARENCHYMA_TISSUES.has(s.tissue)) gain *= p.parenchymaGain;
    else if (URINE_TISSUES.has(s.tissue)) gain *= p.excretionGain;
    if (s.tissue === 'liver') {
      base = p.liverHu;
      if (p.liverHu < 45) gain = 0.85; // a fatty liver enhances less
    }
    if (s.tissue === 'marrow') base = p.marrowHu * BONE_FACTOR[p.kvp];
    // Small arteries lose contrast to partial volume.
    if (s.tissue === 'artery') gain *= 0.85;
    if (PARENCHYMA_TISSUES.has(s.tissue) || s.tissue === 'muscle') base += p.tissueShift;
    hu[s.id] = base + gain * enh(s.tissue) + p.jitter[s.id];
  }
  hu[S['intervertebral discs']] = 85 + p.jitter[S['intervertebral discs']];
  hu[S.fat] = FAT_HU[p.kvp] + p.jitter[S.fat];
  hu[S.lung] = -860;
  hu[S.skin] = 25;
  hu[S.table] = 150;
  hu[S.metal] = HU_MAX;
  hu[S.cyst] = 8;
  hu[S.lipiodol] = 1500;
  return hu;
}

/** Per-structure texture amplitude (HU) of the smooth field: organs are not flat. */
function textureAmplitude(p: CaseParameters): Float32Array {
  const a = new Float32Array(STRUCTURE_COUNT);
  a[S.liver] = p.liverTexture;
  // Arterial-phase spleen is arciform (patchy); later it is homogeneous.
  a[S.spleen] = p.phase === 'arterial' && p.seconds !== undefined ? 40 : 6;
  a[S['renal cortex']] = 10;
  a[S['renal medulla']] = 12;
  a[S.pancreas] = 10;
  a[S.muscle] = 6;
  a[S.bone] = 40;
  a[S.fat] = 12;
  a[S.lung] = 40;
  return a;
}

/** The pool entry nearest to a point (atlas voxel indices). */
function nearest(pool: number[], to: Vec3, place: (v: number) => Vec3): Vec3 | undefined {
  let best: Vec3 | undefined;
  let bestD = Infinity;
  for (const v of pool) {
    const q = place(v);
    const d = (q[0] - to[0]) ** 2 + (q[1] - to[1]) ** 2 + (q[2] - to[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = q;
    }
  }
  return best;
}

function centroid(points: Vec3[]): Vec3 {
  const c: Vec3 = [0, 0, 0];
  for (const q of points) for (let d = 0; d < 3; d++) c[d] += q[d] / points.length;
  return c;
}

/**
 * Small vessels as trees: curved, tapering paths from a trunk (the portal vein at the hilum, the
 * hepatic veins at the cava, the mesenteric vessels at their root) to points spread through the
 * organ, drawn as chains of spheres painted only over that organ. Their HU is the vessel's own,
 * diluted by partial volume more the thinner they get.
 */
function vesselTrees(
  p: CaseParameters,
  a: Anatomy,
  random: Random,
  place: (v: number) => Vec3,
  structureHu: Float64Array,
  voxelsOf: (id: number, edgeOnly: boolean) => number[],
): Sphere[] {
  if (p.vesselBranches <= 0) return [];
  const spheres: Sphere[] = [];
  const liver = voxelsOf(S.liver, false);
  const fatPool: number[] = [];
  for (let v = 0; v < a.ids.length; v += 7) {
    const k = floor(v / (a.columns * a.rows));
    if (a.ids[v] === 0 && a.outside[v] === OUTSIDE_HOLE && k > a.kidneyTop) fatPool.push(v);
  }
  const grow = (
    root: Vec3 | undefined,
    targets: number[],
    count: number,
    vessel: number,
    organ: number,
    rootRadius: number,
  ): void => {
    if (!root || !targets.length) return;
    const background = structureHu[organ];
    for (let b = 0; b < count; b++) {
      const end = place(random.pick(targets));
      const length = sqrt(
        (end[0] - root[0]) ** 2 + (end[1] - root[1]) ** 2 + (end[2] - root[2]) ** 2,
      );
      // A quadratic curve through a displaced midpoint: vessels bend.
      const bend: Vec3 = [0, 1, 2].map(
        (d) => (root[d] + end[d]) / 2 + random.normal(0, 0.2 * length),
      ) as Vec3;
      const steps = max(2, ceil(length / 1.2));
      for (let q = 0; q <= steps; q++) {
        const u = q / steps;
        const centre = [0, 1, 2].map(
          (d) => (1 - u) * (1 - u) * root[d] + 2 * u * (1 - u) * bend[d] + u * u * end[d],
        ) as Vec3;
        const radius = rootRadius * (1 - u) + 0.8 * u;
        // Partial volume: a 1 mm vessel shows about half of its lumen's contrast.
        const share = p.vesselFill * min(1, 0.45 + radius / 4);
        spheres.push({
          centre,
          radius,
          hu: background + share * (structureHu[vessel] - background),
          id: vessel,
          within: organ,
        });
      }
    }
  };
  const portal = voxelsOf(S['portal and superior mesenteric vein'], false);
  const hepatic = voxelsOf(S['hepatic veins'], false);
  const aorta = voxelsOf(S.aorta, false);
  if (liver.length) {
    const liverCentre = centroid(liver.filter((_, i) => i % 13 === 0).map(place));
    const hilum = nearest(portal, liverCentre, place);
    const cava = hepatic.length ? centroid(hepatic.map(place)) : undefined;
    const n = p.vesselBranches;
    grow(hilum, liver, round(40 * n), S['portal and superior mesenteric vein'], S.liver, 5);
    grow(cava, liver, round(28 * n), S['hepatic veins'], S.liver, 4.5);
  }
  if (fatPool.length && portal.length) {
    const fatCentre = centroid(fatPool.filter((_, i) => i % 13 === 0).map(place));
    const smv = nearest(portal, fatCentre, place);
    const sma = smv && nearest(aorta, smv, place);
    const n = round(18 * p.vesselBranches);
    grow(smv, fatPool, n, S['portal and superior mesenteric vein'], S.fat, 3);
    grow(sma, fatPool, n, S['visceral and iliac arteries'], S.fat, 2.5);
  }
  return spheres;
}

/** Draws cysts, calcifications and stones at anatomical sites of the atlas. */
function drawSpheres(
  p: CaseParameters,
  a: Anatomy,
  random: Random,
  toPatient: (i: number, j: number, k: number) => Vec3,
  structureHu: Float64Array,
): Sphere[] {
  const spheres: Sphere[] = [];
  const voxelsOf = (id: number, edgeOnly: boolean): number[] => {
    const found: number[] = [];
    for (let v = 0; v < a.ids.length; v += 7)
      if (a.ids[v] === id && (!edgeOnly || a.edge[v])) found.push(v);
    return found;
  };
  const place = (v: number): Vec3 => {
    const i = v % a.columns;
    const j = floor(v / a.columns) % a.rows;
    const k = floor(v / (a.columns * a.rows));
    return toPatient(i, j, k);
  };
  const liver = voxelsOf(S.liver, false);
  const kidney = voxelsOf(S['renal cortex'], false);
  // Tumours first, so cysts, lipiodol and calcifications drawn later may lie in them.
  for (let n = 0; n < p.tumours && liver.length; n++)
    spheres.push({
      centre: place(random.pick(liver)),
      radius: random.uniform(6, 22),
      hu: structureHu[S['liver tumour']] + random.normal(0, 6),
      id: S['liver tumour'],
    });
  for (let n = 0; n < p.cysts; n++) {
    const inLiver = random.chance(0.6);
    const pool = inLiver ? liver : kidney;
    if (pool.length)
      spheres.push({
        centre: place(random.pick(pool)),
        radius: random.uniform(4, inLiver ? 18 : 12),
        hu: random.uniform(2, 15),
        id: S.cyst,
      });
  }
  // Lipiodol after chemoembolisation: a tumour's worth of dense droplets in clusters.
  for (let n = 0; n < p.lipiodol && liver.length; n++) {
    const centre = place(random.pick(liver));
    const spread = random.uniform(5, 25);
    const hu = random.uniform(300, 2500);
    const droplets = random.int(3, 10);
    for (let d = 0; d < droplets; d++)
      spheres.push({
        centre: [
          centre[0] + random.normal(0, spread),
          centre[1] + random.normal(0, spread),
          centre[2] + random.normal(0, spread),
        ],
        radius: random.uniform(2, 10),
        hu: hu * random.uniform(0.6, 1),
        id: S.lipiodol,
      });
  }
  spheres.push(...vesselTrees(p, a, random, place, structureHu, voxelsOf));
  const spleen = voxelsOf(S.spleen, false);
  for (let n = 0; n < p.granulomas; n++) {
    const pool = random.chance(0.6) || !spleen.length ? liver : spleen;
    if (pool.length)
      spheres.push({
        centre: place(random.pick(pool)),
        radius: random.uniform(1, 3),
        hu: random.uniform(300, 900),
        id: S.calcification,
      });
  }
  const aortaWall = voxelsOf(S.aorta, true);
  const collecting = voxelsOf(S['collecting system and ureters'], false);
  for (let n = 0; n < p.calcification; n++) {
    const stone = random.chance(0.25) && collecting.length > 0;
    const pool = stone ? collecting : aortaWall;
    if (pool.length) {
      spheres.push({
        centre: place(random.pick(pool)),
        radius: random.uniform(1, stone ? 3.5 : 2.5),
        hu: random.uniform(stone ? 500 : 300, stone ? 1400 : 1000),
        id: S.calcification,
      });
    }
  }
  return spheres;
}

export async function generateCase(
  seed: string,
  index: number,
  options: PhantomOptions = {},
): Promise<PhantomCase> {
  const a = await loadAnatomy();
  const p = drawCase(seed, index, options);
  const random = new Random(`${seed}/render/${index}`);
  const rng = new XorShift(random.uint32());
  const [dxT, dyT, dzT] = a.spacing;
  const [ox, oy] = a.origin;
  // Body centre on the template, and where it sits in the scanner.
  const bxT = ox + ((a.bounds.i0 + a.bounds.i1) / 2) * dxT;
  const byT = oy - ((a.bounds.j0 + a.bounds.j1) / 2) * dyT;
  const sXY = p.scaleXY;
  const sZ = p.scaleZ;
  const cx = random.uniform(-20, 20);
  const cy = random.uniform(-15, 25);
  const zTop = random.uniform(-150, 50);
  const toPatient = (i: number, j: number, k: number): Vec3 => [
    (ox + i * dxT - bxT) * sXY + cx,
    (oy - j * dyT - byT) * sXY + cy,
    zTop - k * dzT * sZ,
  ];

  // Field of view from the body's width and the fat around it.
  const widthMm = (a.bounds.i1 - a.bounds.i0) * dxT * sXY + 2 * p.fatMm;
  const fov = min(500, max(320, widthMm * random.uniform(1.08, 1.25)));
  p.fovMm = fov;
  const n = p.matrix;
  const ps = fov / n;
  const prone = p.position.endsWith('P');
  const xSign = prone ? -1 : 1;
  const ySign = prone ? -1 : 1;
  const orientation: Orientation = [xSign, 0, 0, 0, ySign, 0];
  const x0 = cx - xSign * (fov / 2) + random.uniform(-10, 10);
  const y0 = cy - ySign * (fov / 2) + random.uniform(-10, 10);

  const [kStart, kEnd] = RANGES[p.range];
  const rangeMm = (kEnd - kStart) * dzT * sZ;
  let slices = max(1, floor(rangeMm / p.sliceThickness));
  // A shortened case keeps the middle of its scan range: the abdomen, whatever the range.
  let skipTop = 0;
  if (options.slices && options.slices < slices) {
    skipTop = floor((slices - options.slices) / 2);
    slices = options.slices;
  }
  const zHigh = zTop - kStart * dzT * sZ - skipTop * p.sliceThickness;
  // Ascending z: slice 0 is the most caudal kept slice.
  const zs = Array.from({ length: slices }, (_, s) => zHigh - (slices - 1 - s) * p.sliceThickness);

  const structureHu = structureHuTable(p);
  const amplitude = textureAmplitude(p);
  const spheres = drawSpheres(p, a, random, toPatient, structureHu);
  // Bladder: low in the pelvis, anterior, in the midline.
  const bladderCentre = toPatient((a.bounds.i0 + a.bounds.i1) / 2, a.bounds.j1 - 38, a.slices - 6);
  const bladderRadii: Vec3 = [
    random.uniform(30, 50),
    random.uniform(22, 38),
    random.uniform(20, 40),
  ];
  const metalRod = p.metal
    ? {
        x: cx + random.pick([-1, 1]) * random.uniform(12, 20),
        y: (oy - a.bounds.j0 * dyT - byT) * sXY + cy - random.uniform(25, 40),
        zLow: zHigh - rangeMm * random.uniform(0.4, 0.9),
        length: random.uniform(60, 140),
      }
    : undefined;
  // Positive oral contrast: 150-500 HU in bowel, denser (to about 1200) in some patients.
  const oralLevel = exp(random.uniform(log(150), log(1200)));
  const gasThreshold = random.uniform(0.1, 0.6);
  // Table: behind the patient when supine, in front when prone.
  const backY = (oy - a.bounds.j0 * dyT - byT) * sXY + cy + p.fatMm * 0.6;
  const frontY = (oy - a.bounds.j1 * dyT - byT) * sXY + cy - p.fatMm * 1.1;
  const bed = p.table;
  const surfaceY = prone ? frontY - bed.gapMm : backY + bed.gapMm;
  const bedDepth = bed.padMm + bed.thicknessMm;

  const extent = {
    x0: cx - 300,
    y0: cy - 300,
    z0: zHigh - rangeMm - 20,
    sx: 600,
    sy: 600,
    sz: rangeMm + 40,
  };
  const texture = new TextureField(rng, extent, 9);
  const gasField = new TextureField(rng, extent, 14);
  // Generator 4's fields come from their own stream, so the noise drawn from rng stays as it was.
  const anatomyRng = new XorShift(new Random(`${seed}/render/${index}/anatomy`).uint32());
  const warpX = new TextureField(anatomyRng, extent, 70);
  const warpY = new TextureField(anatomyRng, extent, 70);

  const size = n * n;
  const hu = new Float32Array(size * slices);
  // Scanners reconstruct a disc as wide as the FOV; the corners are padding (the bed is cut there).
  let outsideCircle: Uint8Array | undefined;
  if (p.reconstructionCircle) {
    outsideCircle = new Uint8Array(size);
    const mid = (n - 1) / 2;
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++)
        outsideCircle[r * n + c] = (r - mid) ** 2 + (c - mid) ** 2 > (n / 2) ** 2 ? 1 : 0;
  }
  const labels = new Uint8Array(size * slices);
  // Textures vary over centimetres: computed at half resolution, looked up by (r >> 1, c >> 1).
  const half = ceil(n / 2);
  const tex = new Float32Array(half * half);
  const gas = new Float32Array(half * half);
  const warpI = new Float32Array(half * half);
  const warpJ = new Float32Array(half * half);
  const colF = new Float64Array(n);
  const acc = new Float32Array(size);
  const noise = new Float32Array(size);
  const scratch: [Float32Array, Float32Array] = [new Float32Array(size), new Float32Array(size)];
  const fine = ps > 0.8 ? 0 : 1;
  const coarse = max(2, round(1 / (p.noisePeak * ps * 2.5)));
  // Thick slices average three depths (partial volume along z), labelled by the middle one;
  // thinner ones take one.
  const subSamples = p.sliceThickness >= 4 ? [-1 / 3, 1 / 3, 0] : [0];
  const ai = (xSign * ps) / (sXY * dxT);
  const aj = (-ySign * ps) / (sXY * dyT);
  const { columns: W, rows: H, ids, edge, outside } = a;
  // Hoisted ids: string-keyed lookups in the voxel loop cost a third of the time.
  const BONE = S.bone;
  const STOMACH = S['stomach and duodenum'];
  const BOWEL = S['small bowel and colon'];
  const LUNG = S.lung;
  const FAT = S.fat;
  const SKIN = S.skin;
  const BLADDER = S.bladder;
  const TABLE = S.table;
  const boneCortex = 750 * BONE_FACTOR[p.kvp];
  const bladderHu = structureHu[BLADDER];
  // Displacement of the atlas lookup, in template voxels per unit of the warp fields.
  const warpScaleI = p.warpMm / (dxT * sXY);
  const warpScaleJ = p.warpMm / (dyT * sXY);

  for (let s = 0; s < slices; s++) {
    const zCentre = zs[s];
    texture.slice(zCentre, x0, y0, 2 * ps, half, half, xSign, ySign, tex);
    gasField.slice(zCentre, x0, y0, 2 * ps, half, half, xSign, ySign, gas);
    // Unwarped (typical) cases keep the zero field: no lookups to compute.
    if (p.warpMm > 0) {
      warpX.slice(zCentre, x0, y0, 2 * ps, half, half, xSign, ySign, warpI);
      warpY.slice(zCentre, x0, y0, 2 * ps, half, half, xSign, ySign, warpJ);
    }
    acc.fill(0);
    const sliceLabels = labels.subarray(s * size, (s + 1) * size);
    for (let q = 0; q < subSamples.length; q++) {
      const z = zCentre + subSamples[q] * p.sliceThickness;
      const k = round((zTop - z) / (dzT * sZ));
      if (k < 0 || k >= a.slices) continue;
      const o = k * W * H;
      const [ci, cj] = a.centre[k];
      const lungOk = k < a.kidneyTop - 2;
      const bi = ((x0 - cx) / sXY + bxT - ox) / dxT;
      const bj = (oy - (y0 - cy) / sXY - byT) / dyT;
      const inBladderZ = abs(z - bladderCentre[2]) < bladderRadii[2];
      for (let c = 0; c < n; c++) colF[c] = ai * c + bi;
      for (let r = 0; r < n; r++) {
        const jF = aj * r + bj;
        const y = y0 + ySign * r * ps;
        const row = r * n;
        const texRow = (r >> 1) * half;
        for (let c = 0; c < n; c++) {
          const hc = texRow + (c >> 1);
          const i = round(colF[c] + warpScaleI * warpI[hc]);
          const j = round(jF + warpScaleJ * warpJ[hc]);
          let id = 0;
          let v = -1000;
          if (j >= 0 && j < H && i >= 0 && i < W) {
            const t = o + j * W + i;
            id = ids[t];
            if (id !== 0) {
              v = structureHu[id];
              if (id === BONE) {
                v = edge[t] ? boneCortex : v + amplitude[id] * tex[texRow + (c >> 1)];
              } else if (id === STOMACH || id === BOWEL) {
                if (!edge[t]) {
                  // Lumen: gas rises to the non-dependent side, the rest is fluid, stool or oral contrast.
                  const lift = (ySign * (cy - y)) / 120;
                  const up = lift * (prone ? -1 : 1);
                  const t = tex[texRow + (c >> 1)];
                  if (gas[texRow + (c >> 1)] + up > gasThreshold) v = -950;
                  // Dense contrast layers flat in the dependent stomach, or stays in the bowel.
                  else if (id === STOMACH && p.gastricLayerHu > 0 && up < p.gastricLayerLevel)
                    v = p.gastricLayerHu * (0.85 + 0.15 * t);
                  else if (id === BOWEL && p.bowelResidueHu > 0 && t > 0.35)
                    v = p.bowelResidueHu * (0.7 + 0.3 * t);
                  else if (p.oral === 'positive')
                    v = oralLevel * (0.6 + 0.4 * tex[texRow + (c >> 1)]);
                  else if (p.oral === 'water' || id === STOMACH)
                    v = 12 + 8 * tex[texRow + (c >> 1)];
                  else v = -40 + 70 * tex[texRow + (c >> 1)];
                }
              } else {
                v += amplitude[id] * tex[texRow + (c >> 1)];
              }
            } else {
              const d = outside[t];
              if (d === OUTSIDE_HOLE) {
                id = lungOk ? LUNG : FAT;
                v = structureHu[id] + amplitude[id] * tex[texRow + (c >> 1)];
              } else {
                const dMm = d * dxT * sXY;
                if (dMm <= p.fatMm * 1.15) {
                  const di = i - ci;
                  const dj = j - cj;
                  const front = dj / (sqrt(di * di + dj * dj) + 1e-6);
                  const allowed = p.fatMm * (0.6 + 0.5 * max(0, front) + 0.2 * (1 - abs(front)));
                  if (dMm <= allowed) {
                    id = allowed - dMm < 2 ? SKIN : FAT;
                    v = structureHu[id] + amplitude[id] * tex[texRow + (c >> 1)];
                  }
                }
              }
            }
          }
          if (inBladderZ && (id === 0 || id === FAT || id === BOWEL)) {
            const x = x0 + xSign * c * ps;
            const ex = (x - bladderCentre[0]) / bladderRadii[0];
            const ey = (y - bladderCentre[1]) / bladderRadii[1];
            const ez = (z - bladderCentre[2]) / bladderRadii[2];
            if (ex * ex + ey * ey + ez * ez <= 1) {
              id = BLADDER;
              const dependent = prone ? ey < -0.3 : ey > 0.3;
              v = bladderHu + (dependent ? 1 : -0.6) * (bladderHu - 8);
              // Contrast left from an earlier study layers in the dependent bladder in any phase.
              if (p.residualBladderHu > 0 && dependent) v = max(v, p.residualBladderHu);
            }
          }
          if (id === 0) {
            // The bed: a pad, then the table top (shells over a light core), flat or curved.
            const x = x0 + xSign * c * ps;
            const dx = x - cx - bed.offsetMm;
            if (dx > -bed.halfWidthMm && dx < bed.halfWidthMm) {
              const depth = prone
                ? surfaceY + bed.curvature * dx * dx - y
                : y - (surfaceY - bed.curvature * dx * dx);
              if (depth >= 0 && depth <= bedDepth) {
                id = TABLE;
                const d = depth - bed.padMm;
                if (d < 0) v = bed.padHu;
                else if (bed.railHu > 0 && bed.halfWidthMm - abs(dx) < 8) v = bed.railHu;
                else
                  v =
                    d < bed.shellMm || d > bed.thicknessMm - bed.shellMm ? bed.shellHu : bed.coreHu;
              }
            }
          }
          acc[row + c] += v;
          if (q === subSamples.length - 1 || subSamples.length === 1) sliceLabels[row + c] = id;
        }
      }
    }
    if (subSamples.length > 1) for (let i = 0; i < size; i++) acc[i] /= subSamples.length;
    // Spheres: cysts, calcifications, stones (partial volume by slice overlap).
    for (const sp of spheres) {
      const dz = abs(sp.centre[2] - zCentre);
      if (dz >= sp.radius) continue;
      const rr = sqrt(sp.radius * sp.radius - dz * dz);
      const cc = (sp.centre[0] - x0) / (xSign * ps);
      const rc = (sp.centre[1] - y0) / (ySign * ps);
      const rp = rr / ps;
      for (let r = max(0, floor(rc - rp)); r <= min(n - 1, ceil(rc + rp)); r++) {
        for (let c = max(0, floor(cc - rp)); c <= min(n - 1, ceil(cc + rp)); c++) {
          if (
            (r - rc) ** 2 + (c - cc) ** 2 <= rp * rp &&
            (sp.within === undefined || sliceLabels[r * n + c] === sp.within)
          ) {
            acc[r * n + c] = sp.hu;
            sliceLabels[r * n + c] = sp.id;
          }
        }
      }
    }
    // Point-spread of the reconstruction kernel: edges are never perfectly sharp.
    boxBlur(acc, n, n, 1, scratch[1]);
    if (metalRod && zCentre >= metalRod.zLow && zCentre <= metalRod.zLow + metalRod.length) {
      const mc = (metalRod.x - x0) / (xSign * ps);
      const mr = (metalRod.y - y0) / (ySign * ps);
      const radius = 3 / ps;
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
          const dx = c - mc;
          const dy = r - mr;
          const d = sqrt(dx * dx + dy * dy);
          if (d <= radius) {
            acc[r * n + c] = HU_MAX;
            labels[s * size + r * n + c] = S.metal;
          } else {
            // Streaks: alternating bright and dark rays fading with distance.
            acc[r * n + c] += 300 * cos(14 * atan2(dy, dx)) * exp((-d * ps) / 60);
          }
        }
      }
    }
    const sd =
      p.noiseSd *
      sqrt(5 / p.sliceThickness) *
      (1 + (p.fatMm - 20) / 120) *
      (1 + 0.12 * sin(zCentre / 40));
    ctNoise(rng, n, n, fine, coarse, sd, noise, scratch);
    const out = hu.subarray(s * size, (s + 1) * size);
    for (let i = 0; i < size; i++) {
      const v = round(acc[i] + noise[i]);
      out[i] = v < HU_MIN ? HU_MIN : v > HU_MAX ? HU_MAX : v;
    }
    if (outsideCircle) {
      for (let i = 0; i < size; i++) {
        if (outsideCircle[i]) {
          out[i] = HU_MIN;
          labels[s * size + i] = 0;
        }
      }
    }
  }

  const caseId = `${seed}/${index}`;
  const series: InMemorySeries = {
    studyInstanceUid: deterministicUid('phantom-study', caseId),
    seriesInstanceUid: deterministicUid('phantom-series', caseId),
    frameOfReferenceUid: deterministicUid('phantom-frame', caseId),
    rows: n,
    columns: n,
    slices,
    hu,
    geometry: {
      positions: zs.map((z) => [x0, y0, z] as Vec3),
      orientation,
      pixelSpacing: [ps, ps],
      sliceSpacing: p.sliceThickness,
    },
    instances: zs.map((_, i) => ({
      sopInstanceUid: deterministicUid('phantom-instance', caseId, i),
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    })),
    header: {
      PatientName: `Phantom^${String(index).padStart(4, '0')}`,
      PatientID: `PHANTOM-${seed}-${index}`,
      StudyDescription: 'CT ABDOMEN',
      // What its files say (write-ct's defaults), so objects derived in memory match them.
      StudyDate: '20260101',
      StudyTime: '120000',
      StudyID: '1',
      SeriesDescription: 'Axial',
      Manufacturer: 'PhaseLens phantom',
      KVP: p.kvp,
      SliceThickness: p.sliceThickness,
      PatientPosition: p.position,
      ConvolutionKernel: p.noisePeak < 0.22 ? 'SOFT' : 'STANDARD',
      BodyPartExamined: 'ABDOMEN',
    },
    source: { kind: 'files', location: `phantom:${caseId}` },
  };
  return {
    index,
    params: p,
    series,
    labels,
    structureHu,
    encoding: {
      ...defaultCtEncoding,
      pixelRepresentation: p.pixelRepresentation,
      rescaleIntercept: p.rescaleIntercept,
    },
  };
}
