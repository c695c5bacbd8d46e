import type { HuArray } from '../../series/types';

/** Pixels above this are body (soft tissue, bone, and whatever lies on the table). */
export const BODY_HU = -500;
/** Lung and gas: below body density, above air. */
const LOW_HU = -950;
/** No lung is wider than this (mm): a wider pocket of lung density is a mattress or a table. */
export const MAX_LUNG_WIDTH_MM = 250;

let reached = new Uint8Array(0);
let stack = new Int32Array(0);

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
  const value = (g: number): number => hu[((g / gc) | 0) * step * columns + (g % gc) * step];
  let top = 0;
  const visit = (m: number, open: (g: number) => boolean): void => {
    if (reached[m] === 0 && open(m)) {
      reached[m] = 1;
      stack[top++] = m;
    }
  };
  // Fills from what is pushed over the cells `open` admits, four-connected (the outside cannot
  // slip through a body wall that touches only at corners); calls `seen` for each cell.
  const fill = (open: (g: number) => boolean, seen: (g: number) => void): void => {
    while (top > 0) {
      const g = stack[--top];
      seen(g);
      const c = g % gc;
      if (c > 0) visit(g - 1, open);
      if (c < gc - 1) visit(g + 1, open);
      if (g >= gc) visit(g - gc, open);
      if (g < n - gc) visit(g + gc, open);
    }
  };
  const outside = (g: number): boolean => value(g) <= BODY_HU;
  for (let g = 0; g < n; g++) {
    const r = (g / gc) | 0;
    const c = g % gc;
    if ((r === 0 || r === gr - 1 || c === 0 || c === gc - 1) && outside(g)) {
      reached[g] = 1;
      stack[top++] = g;
    }
  }
  fill(outside, () => undefined);
  // Each pocket of lung density left, measured across.
  const low = (g: number): boolean => {
    const v = value(g);
    return v > LOW_HU && v <= BODY_HU;
  };
  const widest = maxWidthPx / step;
  let enclosed = 0;
  for (let g = 0; g < n; g++) {
    if (reached[g] || !low(g)) continue;
    let count = 0;
    let c0 = gc;
    let c1 = -1;
    reached[g] = 1;
    stack[top++] = g;
    fill(low, (m) => {
      count++;
      const c = m % gc;
      if (c < c0) c0 = c;
      if (c > c1) c1 = c;
    });
    if (c1 - c0 + 1 <= widest) enclosed += count;
  }
  return enclosed;
}
