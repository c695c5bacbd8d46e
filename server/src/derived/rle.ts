/**
 * RLE Lossless (PS3.5 Annex G) for 8-bit images: one segment per byte plane (R, G, B for colour,
 * one for grey), each row PackBits-encoded on its own, after a 64-byte header of segment
 * offsets. Secondary Capture maps are large runs of black around the body and of flat colour
 * bars: about half the bytes of the native image. Orthanc and OHIF decode it (tested).
 */
export function rleFrame(
  pixels: Uint8Array,
  rows: number,
  columns: number,
  samples: 1 | 3,
): Uint8Array {
  if (pixels.length !== rows * columns * samples)
    throw new RangeError(`RLE: ${pixels.length} bytes for ${rows} x ${columns} x ${samples}`);
  // Worst case per row: the row itself and a count byte per 128 literals (packRow).
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samples; s++) {
    const out = new Uint8Array(rows * (columns + Math.ceil(columns / 128)) + 1);
    let n = 0;
    for (let r = 0; r < rows; r++)
      n = packRow(pixels, r * columns * samples + s, samples, columns, out, n);
    // Segments are of even length (PS3.5 Annex G), padded with a byte that decodes to nothing
    // (-128 is a no-op for PackBits decoders).
    if (n % 2) out[n++] = 0x80;
    segments.push(out.subarray(0, n));
  }
  const total = 64 + segments.reduce((a, seg) => a + seg.length, 0);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, samples, true);
  let at = 64;
  segments.forEach((seg, k) => {
    view.setUint32(4 + 4 * k, at, true);
    frame.set(seg, at);
    at += seg.length;
  });
  return frame;
}

/**
 * PackBits of one row of one byte plane into `out` from `at`; returns where it ends. The row's
 * pixels are `pixels[first + k * stride]` for k < n (read in place: no copy of the plane). Only
 * runs of three or more are replicated: a pair costs as much either way, and folding pairs into
 * literals bounds the output at one count byte per 128 pixels. Plain loops, no closures: this is
 * the inner loop of every Secondary Capture written.
 */
function packRow(
  pixels: Uint8Array,
  first: number,
  stride: number,
  n: number,
  out: Uint8Array,
  at: number,
): number {
  let i = 0;
  while (i < n) {
    const v = pixels[first + i * stride];
    if (
      i + 2 < n &&
      pixels[first + (i + 1) * stride] === v &&
      pixels[first + (i + 2) * stride] === v
    ) {
      let run = 3;
      while (i + run < n && run < 128 && pixels[first + (i + run) * stride] === v) run++;
      out[at++] = 257 - run; // -(run - 1) as a byte
      out[at++] = v;
      i += run;
      continue;
    }
    // Literals up to the next run of three (or the row's end, or 128 of them).
    let literal = 1;
    while (i + literal < n && literal < 128) {
      const p = i + literal;
      if (p + 2 < n) {
        const w = pixels[first + p * stride];
        if (pixels[first + (p + 1) * stride] === w && pixels[first + (p + 2) * stride] === w) break;
      }
      literal++;
    }
    out[at++] = literal - 1;
    for (let k = 0; k < literal; k++) out[at++] = pixels[first + (i + k) * stride];
    i += literal;
  }
  return at;
}
