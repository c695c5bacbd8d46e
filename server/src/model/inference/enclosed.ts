import type { HuArray } from '../../series/types';

/** Pixels above this are body (soft tissue, bone, and whatever lies on the table). */
export const BODY_HU = -500;
/** Lung and gas: below body density, above air. */
const LOW_HU = -950;
/** No lung is wider than this (mm): a wider pocket of lung density is a mattress or a table. */
export const MAX_LUNG_WIDTH_MM = 250;

let reached = new Uint8Array(0);
let stack = new Int32Array(0);
let sampled = new Float32Array(0);

/**
 * How many pixels of lung or gas density (-950 to -500 HU) the body encloses: those not
 * reachable from the image's edge without crossing body, in pockets no wider than
 * `maxWidthPx` (no lung is as wide as a body). A foam mattress or a table's light core has lung
 * density too: open to the air at its ends it is outside; sealed by rails, it is a pocket as
 * wide as the table. (Counted inside the body's bounding box, both were lung, and abdomens on
 * thick mattresses read as chests.) Pixels are sampled every `step` rows and columns; the count
 * is of sampled pixels.
 */
export function enclosedLowDensity(
  hu: HuArray,
  rows: number,
  columns: number,
  step: number,
  maxWidthPx: number,
): number {
  const gr = Math.ceil(rows / step);
  const gc = Math.ceil(columns / step);
  const n = gr * gc;
  if (reached.length < n) {
    reached = new Uint8Array(n);
    stack = new Int32Array(n);
  }
  reached.fill(0, 0, n);
  // The sampled grid's HU once, in a row-major copy: the fills below read each cell several
  // times (this and closure-free loops make the function about twice as fast).
  if (sampled.length < n) sampled = new Float32Array(n);
  for (let r = 0, g = 0; r < gr; r++)
    for (let c = 0, i = r * step * columns; c < gc; c++, g++, i += step) sampled[g] = hu[i];
  // Fills four-connected (the outside cannot slip through a body wall that touches only at
  // corners) from the cells on the stack over cells whose HU is in (low, high], or at most high
  // where low is null (-Infinity HU, which float volumes can hold, is then inside); returns how
  // many cells it reached and, in `span`, the columns they cover.
  let top = 0;
  const span = [0, 0];
  const fill = (low: number | null, high: number): number => {
    let count = 0;
    let c0 = gc;
    let c1 = -1;
    while (top > 0) {
      const g = stack[--top];
      count++;
      const c = g % gc;
      if (c < c0) c0 = c;
      if (c > c1) c1 = c;
      for (let k = 0; k < 4; k++) {
        let m: number;
        if (k === 0) {
          if (c === 0) continue;
          m = g - 1;
        } else if (k === 1) {
          if (c === gc - 1) continue;
          m = g + 1;
        } else if (k === 2) {
          if (g < gc) continue;
          m = g - gc;
        } else {
          if (g >= n - gc) continue;
          m = g + gc;
        }
        const v = sampled[m];
        if (reached[m] === 0 && v <= high && (low === null || v > low)) {
          reached[m] = 1;
          stack[top++] = m;
        }
      }
    }
    span[0] = c0;
    span[1] = c1;
    return count;
  };
  // The outside: every cell at or below body density reachable from the image's edge.
  for (let g = 0; g < n; g++) {
    const r = (g / gc) | 0;
    const c = g % gc;
    if ((r === 0 || r === gr - 1 || c === 0 || c === gc - 1) && sampled[g] <= BODY_HU) {
      reached[g] = 1;
      stack[top++] = g;
    }
  }
  fill(null, BODY_HU);
  // Each pocket of lung density left, measured across.
  const widest = maxWidthPx / step;
  let enclosed = 0;
  for (let g = 0; g < n; g++) {
    const v = sampled[g];
    if (reached[g] || !(v > LOW_HU && v <= BODY_HU)) continue;
    reached[g] = 1;
    stack[top++] = g;
    const count = fill(LOW_HU, BODY_HU);
    if (span[1] - span[0] + 1 <= widest) enclosed += count;
  }
  return enclosed;
}
