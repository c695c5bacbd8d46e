import path from 'node:path';
import { readNifti } from '../series/read-nifti';
import { STRUCTURES, S } from './structures';

// Local bindings: global lookups (Math.*) are slow in hot loops under vm contexts such as jest's.
const { max, min, round, SQRT2 } = Math;

/** Where the SPL Abdominal Atlas label map ships (with its licence and notice). */
export const ATLAS_FILE = path.join(
  __dirname,
  '..',
  '..',
  'assets',
  'anatomy',
  'spl-abdominal-atlas',
  'abdominal_atlas_labels.nii.gz',
);

export const OUTSIDE_HOLE = 255;

/**
 * The atlas turned into what rendering needs, on its own grid (i: patient left, j: anterior,
 * k: inferior; 0.9375 x 0.9375 x 1.5 mm as stored, about 3 mm true slice spacing).
 */
export interface Anatomy {
  columns: number; // i
  rows: number; // j
  slices: number; // k
  spacing: [number, number, number];
  /** LPS position of voxel (0, 0, 0). */
  origin: [number, number, number];
  /** Structure id per voxel (STRUCTURES), 0 where the atlas has no label. */
  ids: Uint8Array;
  /** 1 where an in-plane neighbour has another id: bone cortex, bowel wall. */
  edge: Uint8Array;
  /** Unlabelled voxels: in-plane distance to the labelled body (voxels, max 254), or OUTSIDE_HOLE when enclosed by it. */
  outside: Uint8Array;
  /** Per slice: centroid of the labelled body (i, j), for fat-thickness angles. */
  centre: [number, number][];
  /** First slice (from the top) that holds kidney: lungs only sit above it. */
  kidneyTop: number;
  /** Body extent (i, j) over all slices, in voxels. */
  bounds: { i0: number; i1: number; j0: number; j1: number };
}

function chamfer(mask: Uint8Array, w: number, h: number, out: Float32Array): void {
  const INF = 1e9;
  for (let p = 0; p < w * h; p++) out[p] = mask[p] ? 0 : INF;
  const d1 = 1;
  const d2 = SQRT2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      let v = out[p];
      if (x > 0) v = min(v, out[p - 1] + d1);
      if (y > 0) {
        v = min(v, out[p - w] + d1);
        if (x > 0) v = min(v, out[p - w - 1] + d2);
        if (x < w - 1) v = min(v, out[p - w + 1] + d2);
      }
      out[p] = v;
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const p = y * w + x;
      let v = out[p];
      if (x < w - 1) v = min(v, out[p + 1] + d1);
      if (y < h - 1) {
        v = min(v, out[p + w] + d1);
        if (x < w - 1) v = min(v, out[p + w + 1] + d2);
        if (x > 0) v = min(v, out[p + w - 1] + d2);
      }
      out[p] = v;
    }
  }
}

let cached: Promise<Anatomy> | undefined;

/** Loads and prepares the atlas once per process. */
export function loadAnatomy(): Promise<Anatomy> {
  cached ??= prepare();
  return cached;
}

async function prepare(): Promise<Anatomy> {
  const atlas = await readNifti(ATLAS_FILE);
  const { columns: w, rows: h, slices: d } = atlas;
  const size = w * h;
  const byAtlas = new Map<number, number>();
  for (const s of STRUCTURES) for (const a of s.atlas) byAtlas.set(a, s.id);
  const ids = new Uint8Array(size * d);
  for (let v = 0; v < ids.length; v++) {
    const label = atlas.hu[v];
    ids[v] = label === 0 ? 0 : (byAtlas.get(label) ?? S.fat);
  }
  const edge = new Uint8Array(size * d);
  const outside = new Uint8Array(size * d);
  const centre: [number, number][] = [];
  const body = new Uint8Array(size);
  const kidney = new Uint8Array(size);
  const dist = new Float32Array(size);
  const queue = new Int32Array(size);
  let kidneyTop = d;
  const bounds = { i0: w, i1: 0, j0: h, j1: 0 };
  for (let k = 0; k < d; k++) {
    const o = k * size;
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let p = 0; p < size; p++) {
      const id = ids[o + p];
      body[p] = id ? 1 : 0;
      kidney[p] = id === S['renal medulla'] ? 0 : 1; // distance from outside the kidney
      if (id) {
        const x = p % w;
        const y = (p - x) / w;
        sx += x;
        sy += y;
        n++;
        bounds.i0 = min(bounds.i0, x);
        bounds.i1 = max(bounds.i1, x);
        bounds.j0 = min(bounds.j0, y);
        bounds.j1 = max(bounds.j1, y);
      }
    }
    centre.push(n ? [sx / n, sy / n] : [w / 2, h / 2]);
    // Renal cortex: the outer ~5 mm of each kidney.
    chamfer(kidney, w, h, dist);
    let hasKidney = false;
    for (let p = 0; p < size; p++) {
      if (ids[o + p] === S['renal medulla']) {
        hasKidney = true;
        if (dist[p] <= 5.5) ids[o + p] = S['renal cortex'];
      }
    }
    if (hasKidney) kidneyTop = min(kidneyTop, k);
    // Edges: an in-plane neighbour with another id.
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const p = o + y * w + x;
        const id = ids[p];
        if (
          id &&
          (ids[p - 1] !== id || ids[p + 1] !== id || ids[p - w] !== id || ids[p + w] !== id)
        )
          edge[p] = 1;
      }
    }
    // Outside the labelled body: exterior (reached from the border) gets its distance, holes a mark.
    let head = 0;
    let tail = 0;
    const seen = new Uint8Array(size);
    const push = (p: number): void => {
      if (!seen[p] && !body[p]) {
        seen[p] = 1;
        queue[tail++] = p;
      }
    };
    for (let x = 0; x < w; x++) {
      push(x);
      push((h - 1) * w + x);
    }
    for (let y = 0; y < h; y++) {
      push(y * w);
      push(y * w + w - 1);
    }
    while (head < tail) {
      const p = queue[head++];
      const x = p % w;
      if (x > 0) push(p - 1);
      if (x < w - 1) push(p + 1);
      if (p >= w) push(p - w);
      if (p < size - w) push(p + w);
    }
    chamfer(body, w, h, dist);
    for (let p = 0; p < size; p++) {
      if (body[p]) continue;
      outside[o + p] = seen[p] ? min(254, max(1, round(dist[p]))) : OUTSIDE_HOLE;
    }
  }
  const [x0, y0, z0] = atlas.geometry.positions[0];
  return {
    columns: w,
    rows: h,
    slices: d,
    spacing: [
      atlas.geometry.pixelSpacing[1],
      atlas.geometry.pixelSpacing[0],
      atlas.geometry.sliceSpacing,
    ],
    origin: [x0, y0, z0],
    ids,
    edge,
    outside,
    centre,
    kidneyTop,
    bounds,
  };
}
