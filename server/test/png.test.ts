import { deflateSync } from 'node:zlib';
import { decodePng, encodePng } from '../src/render/png';

/** A PNG whose rows use the four predictive filters, built by hand from the PNG specification. */
function filteredPng(pixels: Uint8Array, width: number, height: number): Buffer {
  const ch = 3;
  const stride = width * ch;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const filter = y % 5; // None, Sub, Up, Average, Paeth
    raw[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const cur = pixels[y * stride + x];
      const a = x >= ch ? pixels[y * stride + x - ch] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= ch && y > 0 ? pixels[(y - 1) * stride + x - ch] : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      raw[y * (stride + 1) + 1 + x] = (cur - pred) & 0xff;
    }
  }
  // Reuse encodePng's container: swap its IDAT for ours by re-encoding the chunk list.
  const base = encodePng(pixels, width, height, 3);
  const idatAt = base.indexOf('IDAT') - 4;
  const idatLength = base.readUInt32BE(idatAt);
  const z = deflateSync(raw);
  const chunk = Buffer.alloc(12 + z.length);
  chunk.writeUInt32BE(z.length, 0);
  chunk.write('IDAT', 4, 'latin1');
  z.copy(chunk, 8);
  // The decoder does not check CRCs; a zero CRC keeps the test about filtering.
  return Buffer.concat([base.subarray(0, idatAt), chunk, base.subarray(idatAt + 12 + idatLength)]);
}

describe('PNG decoding', () => {
  const width = 7;
  const height = 10;
  const rgb = new Uint8Array(width * height * 3).map((_, i) => (i * 37 + (i >> 3) * 11) & 0xff);

  it('reads back what encodePng wrote, grey and RGB', () => {
    const grey = rgb.subarray(0, width * height);
    expect(decodePng(encodePng(grey, width, height, 1))).toEqual({
      width,
      height,
      channels: 1,
      pixels: new Uint8Array(grey),
    });
    expect(decodePng(encodePng(rgb, width, height, 3)).pixels).toEqual(rgb);
  });

  it('undoes the Sub, Up, Average and Paeth filters', () => {
    const decoded = decodePng(filteredPng(rgb, width, height));
    expect(decoded.channels).toBe(3);
    expect(decoded.pixels).toEqual(rgb);
  });

  it('refuses what is not a PNG with one line', () => {
    expect(() => decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow('not a PNG');
  });
});
