import { rleFrame } from '../src/derived/rle';
import { decodeRle } from '../src/series/codecs';

describe('RLE Lossless encoding of 8-bit images', () => {
  const roundTrip = (pixels: Uint8Array, rows: number, columns: number, samples: 1 | 3): void => {
    const frame = rleFrame(pixels, rows, columns, samples);
    const back = decodeRle(frame, columns, rows, 8, samples);
    expect(Buffer.from(back.bytes).equals(Buffer.from(pixels))).toBe(true);
    // Header: the segment count, then offsets; every segment of even length (PS3.5 G.3.1).
    const view = new DataView(frame.buffer, frame.byteOffset);
    expect(view.getUint32(0, true)).toBe(samples);
    const offsets = Array.from({ length: samples }, (_, k) => view.getUint32(4 + 4 * k, true));
    expect(offsets[0]).toBe(64);
    [...offsets, frame.length].slice(1).forEach((end, k) => expect((end - offsets[k]) % 2).toBe(0));
  };

  it('decodes to the same pixels: runs, literals, row ends, 128-byte limits, colour planes', () => {
    const rows = 7;
    const columns = 301; // longer than two 128-byte packets, odd
    const rgb = new Uint8Array(rows * columns * 3);
    let seed = 7;
    for (let i = 0; i < rgb.length; i++) {
      const r = Math.floor(i / 3 / columns);
      seed = (seed * 1103515245 + 12345) >>> 0;
      // Row 0 flat, row 1 noise, row 2 alternating runs of two, others mixed.
      rgb[i] =
        r === 0
          ? 9
          : r === 1
            ? seed >>> 24
            : r === 2
              ? (Math.floor(i / 6) % 2) * 200
              : i % 301 < 150
                ? 0
                : seed >>> 28;
    }
    roundTrip(rgb, rows, columns, 3);
    roundTrip(rgb.subarray(0, rows * columns), rows, columns, 1);
    roundTrip(new Uint8Array([5]), 1, 1, 1);
  });

  it('never outgrows the bound on incompressible rows: pairs, noise, every level', () => {
    const rows = 4;
    const columns = 300;
    // x, y, y: a pair after every literal, the worst case for an encoder that replicates pairs.
    const pairs = Uint8Array.from({ length: rows * columns * 3 }, (_, i) =>
      Math.floor(i / 3) % 3 === 0 ? 10 : 200,
    );
    roundTrip(pairs, rows, columns, 3);
    let seed = 3;
    for (const levels of [256, 64, 16, 4, 2]) {
      const noise = Uint8Array.from({ length: rows * columns * 3 }, () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return (seed >>> 24) % levels;
      });
      roundTrip(noise, rows, columns, 3);
      const bound = 64 + 3 * (rows * (columns + Math.ceil(columns / 128)) + 1);
      expect(rleFrame(noise, rows, columns, 3).length).toBeLessThanOrEqual(bound);
    }
  });

  it('halves a map-like image: black around the body, noise inside', () => {
    const n = 256;
    const rgb = new Uint8Array(n * n * 3);
    let seed = 1;
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        if ((x - 128) ** 2 / 100 ** 2 + (y - 128) ** 2 / 70 ** 2 > 1) continue;
        seed = (seed * 1103515245 + 12345) >>> 0;
        rgb.fill(seed >>> 24, (y * n + x) * 3, (y * n + x) * 3 + 3);
      }
    expect(rleFrame(rgb, n, n, 3).length).toBeLessThan(0.6 * rgb.length);
  });

  it('refuses pixels that do not fill the image', () => {
    expect(() => rleFrame(new Uint8Array(10), 2, 2, 3)).toThrow(RangeError);
  });
});
