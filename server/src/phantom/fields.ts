// Local bindings: global lookups (Math.*) are slow in hot loops under vm contexts such as jest's.
const { ceil, cos, floor, log, max, min, sqrt } = Math;
/** Fast deterministic noise fields for textures and scanner noise. */

/** xorshift32: a small fast generator for per-voxel draws (seeded from the case's Random). */
export class XorShift {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
}

// Standard normal deviates drawn once; noise picks from them by random index (fast, and the
// texture comes from filtering, not from the exact distribution tail).
const GAUSS = (() => {
  const n = 1 << 16;
  const table = new Float32Array(n);
  let s = 0x1234567;
  const u = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < n; i++) table[i] = sqrt(-2 * log(u())) * cos(2 * Math.PI * u());
  return table;
})();

export function whiteNoise(rng: XorShift, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = GAUSS[rng.next() & 0xffff];
}

/**
 * Box blur of radius r along rows then columns (edges clamped), in place via `tmp`. The column
 * pass walks rows with one running sum per column, so memory is read in order.
 */
export function boxBlur(
  data: Float32Array,
  w: number,
  h: number,
  r: number,
  tmp: Float32Array,
): void {
  if (r <= 0) return;
  const norm = 1 / (2 * r + 1);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += data[o + min(w - 1, max(0, k))];
    for (let x = 0; x < w; x++) {
      tmp[o + x] = acc * norm;
      acc += data[o + min(w - 1, x + r + 1)] - data[o + max(0, x - r)];
    }
  }
  const sums = columnSums(w);
  sums.fill(0);
  for (let k = -r; k <= r; k++) {
    const o = min(h - 1, max(0, k)) * w;
    for (let x = 0; x < w; x++) sums[x] += tmp[o + x];
  }
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const add = min(h - 1, y + r + 1) * w;
    const drop = max(0, y - r) * w;
    for (let x = 0; x < w; x++) {
      data[o + x] = sums[x] * norm;
      sums[x] += tmp[add + x] - tmp[drop + x];
    }
  }
}

let sumsBuffer = new Float64Array(0);
function columnSums(w: number): Float64Array {
  if (sumsBuffer.length < w) sumsBuffer = new Float64Array(w);
  return sumsBuffer.subarray(0, w);
}

/**
 * Correlated CT noise for one slice: white noise band-passed as a difference of two blurs (the
 * FBP noise power spectrum is zero at f = 0, peaks, then rolls off with the kernel), scaled to `sd`.
 */
export function ctNoise(
  rng: XorShift,
  w: number,
  h: number,
  fine: number,
  coarse: number,
  sd: number,
  out: Float32Array,
  scratch: [Float32Array, Float32Array],
): void {
  const [low, tmp] = scratch;
  whiteNoise(rng, out);
  boxBlur(out, w, h, fine, tmp);
  low.set(out);
  boxBlur(low, w, h, coarse, tmp);
  let sum2 = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i] - low[i];
    out[i] = v;
    sum2 += v * v;
  }
  const scale = sd / sqrt(sum2 / out.length || 1);
  for (let i = 0; i < out.length; i++) out[i] *= scale;
}

/**
 * Smooth 3-D texture in [-1, 1]: a random lattice every `cellMm`, interpolated (trilinear in z,
 * then bilinear per slice).
 */
export class TextureField {
  private readonly lattice: Float32Array;
  private readonly nx: number;
  private readonly ny: number;
  private readonly nz: number;

  constructor(
    rng: XorShift,
    private readonly extent: {
      x0: number;
      y0: number;
      z0: number;
      sx: number;
      sy: number;
      sz: number;
    },
    private readonly cellMm: number,
  ) {
    this.nx = ceil(extent.sx / cellMm) + 2;
    this.ny = ceil(extent.sy / cellMm) + 2;
    this.nz = ceil(extent.sz / cellMm) + 2;
    this.lattice = new Float32Array(this.nx * this.ny * this.nz);
    for (let i = 0; i < this.lattice.length; i++)
      this.lattice[i] = (rng.next() / 4294967296) * 2 - 1;
  }

  /** Fills `out` (rows x columns of an axial grid with pixel spacing ps, corner x0,y0) at height z. */
  slice(
    z: number,
    x0: number,
    y0: number,
    ps: number,
    rows: number,
    columns: number,
    xSign: number,
    ySign: number,
    out: Float32Array,
  ): void {
    const { nx, ny, nz, cellMm } = this;
    const fz = min(nz - 1.001, max(0, (z - this.extent.z0) / cellMm));
    const kz = floor(fz);
    const tz = fz - kz;
    const plane = new Float32Array(nx * ny);
    for (let p = 0; p < nx * ny; p++) {
      plane[p] =
        this.lattice[kz * nx * ny + p] * (1 - tz) + this.lattice[(kz + 1) * nx * ny + p] * tz;
    }
    const gx = new Float32Array(columns);
    const ix = new Int32Array(columns);
    for (let c = 0; c < columns; c++) {
      const f = min(nx - 1.001, max(0, (x0 + xSign * c * ps - this.extent.x0) / cellMm));
      ix[c] = floor(f);
      gx[c] = f - ix[c];
    }
    for (let r = 0; r < rows; r++) {
      const f = min(ny - 1.001, max(0, (y0 + ySign * r * ps - this.extent.y0) / cellMm));
      const jy = floor(f);
      const ty = f - jy;
      const a = jy * nx;
      const b = (jy + 1) * nx;
      const o = r * columns;
      for (let c = 0; c < columns; c++) {
        const i = ix[c];
        const tx = gx[c];
        const top = plane[a + i] + (plane[a + i + 1] - plane[a + i]) * tx;
        const bottom = plane[b + i] + (plane[b + i + 1] - plane[b + i]) * tx;
        out[o + c] = top + (bottom - top) * ty;
      }
    }
  }
}
