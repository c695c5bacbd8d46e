/**
 * RLE Lossless (PS3.5 Annex G) for 8-bit images: one segment per byte plane (R, G, B for colour,
 * one for grey), each row PackBits-encoded on its own, after a 64-byte header of segment
 * offsets. Secondary Capture maps are large runs of black around the body and of flat colour
 * bars: about half the bytes of the native image, and every DICOM viewer decodes it.
 */
export function rleFrame(
  pixels: Uint8Array,
  rows: number,
  columns: number,
  samples: 1 | 3,
): Uint8Array {
  if (pixels.length !== rows * columns * samples)
    throw new RangeError(`RLE: ${pixels.length} bytes for ${rows} x ${columns} x ${samples}`);
  // Worst case per row: a count byte per 128 literals, plus the row itself.
  const row = new Uint8Array(columns);
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samples; s++) {
    const out = new Uint8Array(rows * (columns + Math.ceil(columns / 128)) + 1);
    let n = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) row[c] = pixels[(r * columns + c) * samples + s];
      n = packRow(row, out, n);
    }
    // Segments are of even length (G.3.1).
    if (n % 2) out[n++] = 0x80; // a no-op byte
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

/** PackBits of one row into `out` from `at`; returns where it ends. */
function packRow(row: Uint8Array, out: Uint8Array, at: number): number {
  const n = row.length;
  let i = 0;
  while (i < n) {
    let run = 1;
    while (i + run < n && run < 128 && row[i + run] === row[i]) run++;
    if (run >= 2) {
      out[at++] = 257 - run; // -(run - 1) as a byte
      out[at++] = row[i];
      i += run;
      continue;
    }
    // Literals up to the next pair of equal bytes (a run of two costs what two literals do).
    let literal = 1;
    while (i + literal < n && literal < 128 && row[i + literal] !== row[i + literal + 1]) literal++;
    out[at++] = literal - 1;
    out.set(row.subarray(i, i + literal), at);
    at += literal;
    i += literal;
  }
  return at;
}
