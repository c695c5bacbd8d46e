import { SIMD_BLOCK, simdRescale } from '../src/series/simd-rescale';

/** The scalar definition: little-endian 16-bit samples, sample * slope + intercept in float32. */
function reference(bytes: Uint8Array, signed: boolean, slope: number, intercept: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const v = signed ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true);
    out[i] = Math.fround(Math.fround(v) * Math.fround(slope)) + Math.fround(intercept);
  }
  return out;
}

function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    bytes[i] = s >>> 24;
  }
  return bytes;
}

describe('16-bit samples to HU with WebAssembly SIMD', () => {
  it('is available on Node 20 (else reading falls back to the scalar loop)', () => {
    expect(simdRescale).toBeDefined();
  });

  // Lengths around the 8-lane step and the block size; odd byte offsets as streamed chunks have.
  const lengths = [
    1,
    7,
    8,
    9,
    1000,
    SIMD_BLOCK - 1,
    SIMD_BLOCK,
    SIMD_BLOCK + 3,
    3 * SIMD_BLOCK + 11,
  ];
  it.each([
    [true, 1, -1024],
    [false, 1, -1024],
    [true, 0.5, -3.25],
    [false, 2.5, 100],
  ])('signed %p, slope %p, intercept %p: equals the scalar definition', (signed, slope, ic) => {
    for (const [k, n] of lengths.entries()) {
      for (const offset of [0, 1]) {
        const bytes = pseudoRandomBytes(n * 2 + offset, 7 * k + offset).subarray(offset);
        const out = new Float32Array(n).fill(NaN);
        simdRescale!(bytes, signed, slope, ic, out);
        expect(out).toEqual(reference(bytes, signed, slope, ic));
      }
    }
  });

  it('covers the whole 16-bit range: extremes sign-extend or not as asked', () => {
    const bytes = new Uint8Array(
      new Uint16Array([0, 1, 0x7fff, 0x8000, 0xffff, 0x8001, 2, 3]).buffer,
    );
    const signed = new Float32Array(8);
    const unsigned = new Float32Array(8);
    simdRescale!(bytes, true, 1, 0, signed);
    simdRescale!(bytes, false, 1, 0, unsigned);
    expect([...signed]).toEqual([0, 1, 32767, -32768, -1, -32767, 2, 3]);
    expect([...unsigned]).toEqual([0, 1, 32767, 32768, 65535, 32769, 2, 3]);
  });

  it('writes exactly out.length samples and nothing past them', () => {
    const bytes = pseudoRandomBytes(64, 3);
    const backing = new Float32Array(16).fill(-7);
    simdRescale!(bytes, true, 1, 0, backing.subarray(2, 13));
    expect([...backing.subarray(0, 2)]).toEqual([-7, -7]);
    expect([...backing.subarray(13)]).toEqual([-7, -7, -7]);
  });
});
