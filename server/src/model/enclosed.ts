import type { HuArray } from '../series/types';

/** Pixels above this are body (soft tissue, bone, and whatever lies on the table). */
export const BODY_HU = -500;
/** Lung and gas: below body density, above air. */
const LOW_HU = -950;

let reached = new Uint8Array(0);
let stack = new Int32Array(0);

/**
 * How many pixels of lung or gas density (-950 to -500 HU) the body encloses: those not
 * reachable from the image's edge without crossing body. A foam mattress or a table's light
 * core has lung density too, but lies open to the air at its ends, so it does not count as lung
 * (counted inside the body's bounding box, it did, and abdomens on thick mattresses read as
 * chests). Pixels are sampled every `step` rows and columns; the count is of sampled pixels.
 */
export function enclosedLowDensity(
  hu: HuArray,
  rows: number,
  columns: number,
  step: number,
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
  const visit = (g: number): void => {
    if (reached[g] === 0 && value(g) <= BODY_HU) {
      reached[g] = 1;
      stack[top++] = g;
    }
  };
  for (let c = 0; c < gc; c++) {
    visit(c);
    visit((gr - 1) * gc + c);
  }
  for (let r = 0; r < gr; r++) {
    visit(r * gc);
    visit(r * gc + gc - 1);
  }
  // Four-connected: the outside cannot slip through a body wall that touches only at corners.
  while (top > 0) {
    const g = stack[--top];
    const c = g % gc;
    if (c > 0) visit(g - 1);
    if (c < gc - 1) visit(g + 1);
    if (g >= gc) visit(g - gc);
    if (g < n - gc) visit(g + gc);
  }
  let enclosed = 0;
  for (let g = 0; g < n; g++) {
    if (reached[g]) continue;
    const v = value(g);
    if (v > LOW_HU && v <= BODY_HU) enclosed++;
  }
  return enclosed;
}
