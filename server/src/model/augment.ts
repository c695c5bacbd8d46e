import type { Random } from '../phantom/random';
import { CHANNELS, INPUT_SIZE, WINDOWS } from './preprocess';

/**
 * Training-time augmentation on preprocessed slices, for what phantoms cannot vary enough:
 * body shape and organ layout (a random affine and a smooth elastic warp), scanner calibration
 * (a small HU offset), reconstruction kernel (blur or sharpen) and noise level (added in HU).
 * Every change keeps the phase signal: vessel and organ enhancement differ between phases by
 * tens to hundreds of HU, the offset by at most `maxOffsetHu`.
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
}

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
    const y0 = Math.min(GRID - 2, Math.floor(gy));
    const ty = gy - y0;
    for (let x = 0; x < N; x++) {
      const gx = (x / (N - 1)) * (GRID - 1);
      const x0 = Math.min(GRID - 2, Math.floor(gx));
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

/** 3x3 blur (amount > 0) or unsharp mask (amount < 0) of one channel-last image, in place. */
function kernelFilter(data: Float32Array, amount: number): void {
  const copy = data.slice();
  for (let y = 1; y < N - 1; y++) {
    for (let x = 1; x < N - 1; x++) {
      for (let k = 0; k < CHANNELS; k++) {
        const i = (y * N + x) * CHANNELS + k;
        const mean =
          (copy[i - CHANNELS] +
            copy[i + CHANNELS] +
            copy[i - N * CHANNELS] +
            copy[i + N * CHANNELS] +
            copy[i]) /
          5;
        data[i] = copy[i] + (mean - copy[i]) * amount;
      }
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
      const x0 = Math.min(N - 2, Math.floor(u));
      const y0 = Math.min(N - 2, Math.floor(v));
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
  const filter = random.uniform(-0.6, 0.8) * scale;
  if (Math.abs(filter) > 0.05) kernelFilter(out, filter);
  const offsetHu = random.uniform(-1, 1) * options.maxOffsetHu * scale;
  const noiseHu = random.uniform(0, options.maxNoiseHu) * scale;
  const widths = WINDOWS.map(([, w]) => w);
  for (let p = 0; p < N * N; p++) {
    // One noise value per pixel, seen through every window (it is one HU value).
    const noise = noiseHu > 0 ? random.normal() * noiseHu : 0;
    for (let k = 0; k < CHANNELS; k++) {
      const i = p * CHANNELS + k;
      const value = out[i];
      // Values clipped at the window floor say nothing of their HU (air stays black).
      if (value <= 0) continue;
      const shifted = value + (offsetHu + noise) / widths[k];
      out[i] = shifted < 0 ? 0 : shifted > 1 ? 1 : shifted;
    }
  }
  return out;
}
