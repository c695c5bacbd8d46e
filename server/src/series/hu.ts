import type { PixelModule } from './pixel-module';
import { simdRescale } from './simd-rescale';

/** HU given to padding pixels outside the reconstructed field of view: air. */
export const PADDING_HU = -1000;

/**
 * Converts little-endian stored samples to HU in `out`, one sample per element of `out` (a whole
 * frame, or a run of one). Stored values are masked to BitsStored and sign-extended when
 * PixelRepresentation is 1, so bits above BitsStored (overlays, garbage) never leak into HU.
 */
export function storedToHu(bytes: Uint8Array, pm: PixelModule, out: Float32Array): void {
  const n = out.length;
  const signed = pm.pixelRepresentation === 1;
  const bits = pm.bitsStored;
  const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
  const signBit = 1 << (bits - 1);
  const slope = pm.rescaleSlope;
  const intercept = pm.rescaleIntercept;
  const pad = pm.pixelPaddingValue;
  const padLimit = pm.pixelPaddingRangeLimit ?? pad;
  const padLow = pad === undefined || padLimit === undefined ? 1 : Math.min(pad, padLimit);
  const padHigh = pad === undefined || padLimit === undefined ? 0 : Math.max(pad, padLimit);
  const wide = pm.bitsAllocated === 16;
  if (pad === undefined && bits === pm.bitsAllocated && wide && simdRescale) {
    // The common CT case: full 16-bit samples, no padding.
    simdRescale(bytes, signed, slope, intercept, out);
    return;
  }
  // Aligned copy when needed: Uint16Array needs an even byte offset.
  const samples = wide
    ? bytes.byteOffset % 2 === 0
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
      : alignedCopy(bytes.subarray(0, n * 2))
    : bytes;
  if (pad === undefined && bits === pm.bitsAllocated && wide) {
    // The same without WebAssembly SIMD. One monomorphic loop per array type keeps V8 on its
    // fast path (about 4x the general loop below).
    if (signed)
      rescaleInt16(new Int16Array(samples.buffer, samples.byteOffset, n), slope, intercept, out);
    else rescaleUint16(samples as Uint16Array, slope, intercept, out);
    return;
  }
  for (let i = 0; i < n; i++) {
    let v = samples[i] & mask;
    if (signed && v & signBit) v -= mask + 1;
    out[i] = v >= padLow && v <= padHigh ? PADDING_HU : v * slope + intercept;
  }
}

// The typed-array set() converts integers to floats natively (about 15x a JS loop); the rescale
// then runs over floats in place.
function rescaleInt16(s: Int16Array, slope: number, intercept: number, out: Float32Array): void {
  out.set(s);
  rescaleInPlace(out, slope, intercept);
}

function rescaleUint16(s: Uint16Array, slope: number, intercept: number, out: Float32Array): void {
  out.set(s);
  rescaleInPlace(out, slope, intercept);
}

function rescaleInPlace(out: Float32Array, slope: number, intercept: number): void {
  if (slope === 1) for (let i = 0; i < out.length; i++) out[i] += intercept;
  else for (let i = 0; i < out.length; i++) out[i] = out[i] * slope + intercept;
}

// Streamed chunks often start at an odd byte; they are copied into this reused, aligned
// scratch (storedToHu is synchronous, so one buffer serves every call) instead of a new array.
let scratch = new Uint16Array(0);
function alignedCopy(bytes: Uint8Array): Uint16Array {
  const n = bytes.length >> 1;
  if (scratch.length < n) scratch = new Uint16Array(Math.max(n, 65536));
  new Uint8Array(scratch.buffer, 0, n * 2).set(bytes);
  return scratch.subarray(0, n);
}

/** Bytes one uncompressed frame takes. */
export function frameByteLength(pm: PixelModule): number {
  return (pm.rows * pm.columns * pm.bitsAllocated) / 8;
}
