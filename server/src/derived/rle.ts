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
  const row = new Uint8Array(columns);
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samples; s++) {
    const out = new Uint8Array(rows * (columns + Math.ceil(columns / 128)) + 1);
    let n = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) row[c] = pixels[(r * columns + c) * samples + s];
      n = packRow(row, out, n);
    }
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
 * PackBits of one row into `out` from `at`; returns where it ends. Only runs of three or more
 * are replicated: a pair costs as much either way, and folding pairs into literals bounds the
 * output at one count byte per 128 pixels.
 */
function packRow(row: Uint8Array, out: Uint8Array, at: number): number {
  const n = row.length;
  const runAt = (p: number): boolean => p + 2 < n && row[p] === row[p + 1] && row[p] === row[p + 2];
  let i = 0;
  while (i < n) {
    if (runAt(i)) {
      let run = 3;
      while (i + run < n && run < 128 && row[i + run] === row[i]) run++;
      out[at++] = 257 - run; // -(run - 1) as a byte
      out[at++] = row[i];
      i += run;
      continue;
    }
    // Literals up to the next run of three (or the row's end, or 128 of them).
    let literal = 1;
    while (i + literal < n && literal < 128 && !runAt(i + literal)) literal++;
    out[at++] = literal - 1;
    out.set(row.subarray(i, i + literal), at);
    at += literal;
    i += literal;
  }
  return at;
}
