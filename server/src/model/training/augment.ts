import type { Random } from '../../phantom/random';
import { CHANNELS, INPUT_SIZE, WINDOWS } from '../inference/preprocess';

// Bound once: global lookups in per-pixel loops are slow in some runtimes (jest's vm).
const { abs, floor, min } = Math;

/**
 * Training-time augmentation on preprocessed slices, for what phantoms cannot vary enough:
 * body shape and organ layout (a random affine and a smooth elastic warp), scanner calibration
 * (a small HU offset), reconstruction kernel (blur or sharpen), noise level (added in HU) and,
 * where a recipe asks, the density of dense material (`maxDenseGain`).
 * The shape and scanner changes keep the phase signal: vessel and organ enhancement differ
 * between phases by tens to hundreds of HU, the offset by at most `maxOffsetHu`.
 */
export interface AugmentOptions {
  maxRotationDeg: number;
  scaleRange: [number, number];
  /** Extra anisotropic scale, so that wide and round bodies both occur. */
  maxAspect: number;
  maxShiftPx: number;
  /** Peak displacement of the elastic warp, in pixels. */
  elasticPx: number;
  maxOffsetHu: number;
  maxNoiseHu: number;
  /** Probability of a left-right mirror (situs is fixed in real scans: kept low). */
  mirror: number;
  /** Blur or sharpening, as reconstruction kernels differ (absent: on). */
  kernel?: boolean;
  /**
   * Dense material (above DENSE_FROM_HU: bone, oral contrast, lipiodol, calcium, excreted
   * contrast) made denser or lighter by a gain drawn log-uniformly in [1/g, g] per slice; absent
   * or 1: off. Real bone and dense non-vascular material vary far more between patients and
   * scanners than the phantoms', and a network that reads their density as a phase cue calls
   * a portal-venous series delayed when its bone is denser (`phaselens train --dense-gain`).
   * The brightest arterial blood (an aorta of 300-450 HU) is above the threshold too, so the
   * arterial cue's level moves with it (by at most about a third at g = 2). Pixels saturated in
   * the widest window (1600 HU and above) come back as 1600 HU, so with a gain below 1 they
   * become one flat level.
   */
  maxDenseGain?: number;
  /**
   * HU above which the dense gain applies (absent: DENSE_FROM_HU). At 500 it leaves every
   * arterial aorta the generator draws (up to about 490 HU at 80 kVp) alone and still reaches
   * bone, oral and excreted contrast and lipiodol (`phaselens train --dense-from`).
   */
  denseFromHu?: number;
}

/**
 * HU above which the dense-material gain applies: above enhanced parenchyma and portal-venous
 * and delayed blood, below bone cortex and excreted contrast; arterial aortas reach above it.
 */
export const DENSE_FROM_HU = 300;

export const DEFAULT_AUGMENT: AugmentOptions = {
  maxRotationDeg: 12,
  scaleRange: [0.85, 1.2],
  maxAspect: 0.12,
  maxShiftPx: 8,
  elasticPx: 4,
  maxOffsetHu: 12,
  maxNoiseHu: 18,
  mirror: 0,
};

/** Which parts of the augmentation a training run uses (`phaselens train --augment`). */
export type AugmentParts = 'all' | 'shape' | 'scanner' | 'none';
export const AUGMENT_PARTS: readonly AugmentParts[] = ['all', 'shape', 'scanner', 'none'];

/**
 * The augmentation for a choice of parts: 'shape' keeps body shape and layout (rotation, zoom,
 * aspect, shift, elastic warp) and drops the scanner part (kernel, HU offset, noise); 'scanner'
 * the reverse; 'none' is null. For the ablation study (same data, seed and schedule; the
 * random stream itself differs once a part draws fewer numbers).
 */
export function augmentFor(parts: AugmentParts): AugmentOptions | null {
  switch (parts) {
    case 'all':
      return DEFAULT_AUGMENT;
    case 'none':
      return null;
    case 'shape':
      return { ...DEFAULT_AUGMENT, maxOffsetHu: 0, maxNoiseHu: 0, kernel: false };
    case 'scanner':
      return {
        ...DEFAULT_AUGMENT,
        maxRotationDeg: 0,
        scaleRange: [1, 1],
        maxAspect: 0,
        maxShiftPx: 0,
        elasticPx: 0,
      };
  }
}

const N = INPUT_SIZE;
const GRID = 5;

/** A smooth displacement field: random values on a GRID x GRID lattice, bilinearly spread. */
function elasticField(random: Random, amplitude: number): Float32Array {
  const lattice = Float32Array.from({ length: GRID * GRID * 2 }, () =>
    random.uniform(-amplitude, amplitude),
  );
  const field = new Float32Array(N * N * 2);
  for (let y = 0; y < N; y++) {
    const gy = (y / (N - 1)) * (GRID - 1);
    const y0 = min(GRID - 2, floor(gy));
    const ty = gy - y0;
    for (let x = 0; x < N; x++) {
      const gx = (x / (N - 1)) * (GRID - 1);
      const x0 = min(GRID - 2, floor(gx));
      const tx = gx - x0;
      for (let k = 0; k < 2; k++) {
        const at = (yy: number, xx: number): number => lattice[(yy * GRID + xx) * 2 + k];
        const top = at(y0, x0) + (at(y0, x0 + 1) - at(y0, x0)) * tx;
        const bottom = at(y0 + 1, x0) + (at(y0 + 1, x0 + 1) - at(y0 + 1, x0)) * tx;
        field[(y * N + x) * 2 + k] = top + (bottom - top) * ty;
      }
    }
  }
  return field;
}

const LOWS = WINDOWS.map(([c, w]) => c - w / 2);
const WIDTHS = WINDOWS.map(([, w]) => w);

/**
 * HU of each pixel back from its windows: the narrowest window that does not clip it says it
 * most precisely; below every window's floor is air.
 */
function toHu(data: Float32Array): Float32Array {
  const hu = new Float32Array(N * N);
  const order = WIDTHS.map((w, k) => [w, k])
    .sort((a, b) => a[0] - b[0])
    .map(([, k]) => k);
  const widest = order[order.length - 1];
  for (let p = 0; p < N * N; p++) {
    let k = widest;
    for (const c of order) {
      const v = data[p * CHANNELS + c];
      if (v > 0 && v < 1) {
        k = c;
        break;
      }
    }
    const v = data[p * CHANNELS + k];
    // Below every window floor: air or lung, kept out of the intensity changes.
    hu[p] = k === widest && v <= 0 ? -1000 : LOWS[k] + v * WIDTHS[k];
  }
  return hu;
}

/** 3x3 blur (amount > 0) or unsharp mask (amount < 0) of a HU image, in place. */
function kernelFilter(hu: Float32Array, amount: number): void {
  const copy = hu.slice();
  for (let y = 1; y < N - 1; y++) {
    for (let x = 1; x < N - 1; x++) {
      const i = y * N + x;
      const mean = (copy[i - 1] + copy[i + 1] + copy[i - N] + copy[i + N] + copy[i]) / 5;
      hu[i] = copy[i] + (mean - copy[i]) * amount;
    }
  }
}

/**
 * Returns an augmented copy of `source` (INPUT_SIZE^2 x CHANNELS, values in [0, 1] per window).
 * Geometry first (one bilinear resampling for affine and warp together), then intensities.
 */
export function augmentSlice(
  source: ArrayLike<number>,
  random: Random,
  options: AugmentOptions = DEFAULT_AUGMENT,
  scale = 1,
): Float32Array {
  const out = new Float32Array(N * N * CHANNELS);
  const angle = ((random.uniform(-1, 1) * options.maxRotationDeg * Math.PI) / 180) * scale;
  const zoom = 1 + (random.uniform(options.scaleRange[0], options.scaleRange[1]) - 1) * scale;
  const aspect = 1 + random.uniform(-options.maxAspect, options.maxAspect) * scale;
  const sx = zoom * aspect;
  const sy = zoom / aspect;
  const mirror = random.chance(options.mirror) ? -1 : 1;
  const shiftX = random.uniform(-1, 1) * options.maxShiftPx * scale;
  const shiftY = random.uniform(-1, 1) * options.maxShiftPx * scale;
  const field = options.elasticPx > 0 ? elasticField(random, options.elasticPx * scale) : undefined;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const c = (N - 1) / 2;
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      // Inverse map: output pixel -> source position.
      let dx = (x - c - shiftX) * mirror;
      let dy = y - c - shiftY;
      if (field) {
        dx += field[(y * N + x) * 2];
        dy += field[(y * N + x) * 2 + 1];
      }
      const u = (cos * dx + sin * dy) / sx + c;
      const v = (-sin * dx + cos * dy) / sy + c;
      const o = (y * N + x) * CHANNELS;
      if (u < 0 || v < 0 || u > N - 1 || v > N - 1) continue; // air: zero in every window
      const x0 = min(N - 2, floor(u));
      const y0 = min(N - 2, floor(v));
      const tx = u - x0;
      const ty = v - y0;
      const i = (y0 * N + x0) * CHANNELS;
      for (let k = 0; k < CHANNELS; k++) {
        const a = source[i + k];
        const b = source[i + CHANNELS + k];
        const d = source[i + N * CHANNELS + k];
        const e = source[i + N * CHANNELS + CHANNELS + k];
        const top = a + (b - a) * tx;
        const bottom = d + (e - d) * tx;
        out[o + k] = top + (bottom - top) * ty;
      }
    }
  }
  // Intensities in HU (the windows clip, so changes are made before re-windowing): kernel,
  // calibration offset and noise, inside the body only (air stays air).
  const hu = toHu(out);
  // Drawn only when on, so the random stream of recipes without it is unchanged.
  const denseGain =
    options.maxDenseGain !== undefined && options.maxDenseGain > 1
      ? Math.exp(random.uniform(-1, 1) * Math.log(options.maxDenseGain) * scale)
      : 1;
  const denseFrom = options.denseFromHu ?? DENSE_FROM_HU;
  if (denseGain !== 1)
    for (let p = 0; p < N * N; p++)
      if (hu[p] > denseFrom) hu[p] = denseFrom + (hu[p] - denseFrom) * denseGain;
  const filter = random.uniform(-0.4, 0.8) * scale;
  if (options.kernel !== false && abs(filter) > 0.05) kernelFilter(hu, filter);
  const offsetHu = random.uniform(-1, 1) * options.maxOffsetHu * scale;
  const noiseHu = random.uniform(0, options.maxNoiseHu) * scale;
  for (let p = 0; p < N * N; p++) {
    if (hu[p] <= -900) continue;
    const value = hu[p] + offsetHu + (noiseHu > 0 ? random.normal() * noiseHu : 0);
    for (let k = 0; k < CHANNELS; k++) {
      const v = (value - LOWS[k]) / WIDTHS[k];
      out[p * CHANNELS + k] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}
