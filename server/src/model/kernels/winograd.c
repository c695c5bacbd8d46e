/*
 * 3x3 stride-1 'same' convolution by Winograd F(2x2, 3x3) (Lavin and Gray 2016), NHWC, for the
 * tfjs wasm backend's memory. Each 2x2 output tile costs 16 products per channel pair instead of
 * 36: the 16 products are 16 independent matrix products (tiles x in-channels by in-channels x
 * out-channels) between a transformed input and a transformed filter.
 *
 * Built by scripts/build-kernels.sh (clang --target=wasm32 -msimd128), embedded in
 * winograd-wasm.ts. It imports the backend's memory and owns none: no data, no stack, every
 * buffer is passed in by the caller.
 *
 * The filter gradient of the same convolution uses the same tiles (the transposition principle:
 * dW = G^T [(A dy A^T) . (B^T x B)] G, summed over tiles in the transformed domain), so it too
 * is 16 matrix products, contracted over tiles: 2.25x fewer products than the direct sum.
 *
 * Layouts: x [n][h][w][cin], filter [3][3][cin][cout] (tfjs), out [n][h][w][cout],
 * u [16][cin][cout], v [16][T][cin], m [16][T][cout]; channel counts are multiples of 4
 * (cin) and 8 (cout).
 */
#include "simd.h"

/* Where tile number `tile` (raster order over image, tile row, tile column) starts. */
typedef struct {
  int n, y, x;
} Tile;

static inline Tile tile_at(int tile, int tilesY, int tilesX) {
  int rest = tile / tilesX;
  Tile at = {rest / tilesY, (rest % tilesY) * 2, (tile % tilesX) * 2};
  return at;
}

/* u = G g G^T for every (cin, cout) pair, four out-channels at a time. */
__attribute__((export_name("filter_transform"))) void filter_transform(const float *g, float *u,
                                                                       int cin, int cout) {
  const f4 half = wasm_f32x4_splat(0.5f);
  const int plane = cin * cout;
  for (int ci = 0; ci < cin; ci++)
    for (int co = 0; co < cout; co += 4) {
      f4 k[3][3];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) k[i][j] = LD(g + ((i * 3 + j) * cin + ci) * cout + co);
      f4 t[4][3];
      for (int j = 0; j < 3; j++) {
        t[0][j] = k[0][j];
        t[1][j] = MUL(half, ADD(ADD(k[0][j], k[1][j]), k[2][j]));
        t[2][j] = MUL(half, ADD(SUB(k[0][j], k[1][j]), k[2][j]));
        t[3][j] = k[2][j];
      }
      for (int i = 0; i < 4; i++) {
        f4 r[4];
        r[0] = t[i][0];
        r[1] = MUL(half, ADD(ADD(t[i][0], t[i][1]), t[i][2]));
        r[2] = MUL(half, ADD(SUB(t[i][0], t[i][1]), t[i][2]));
        r[3] = t[i][2];
        for (int j = 0; j < 4; j++) ST(u + (i * 4 + j) * plane + ci * cout + co, r[j]);
      }
    }
}

/* v[.][t][.] = B^T d B for tiles first..first+count-1 (raster order over n, tile row, tile column). */
static void input_transform(const float *x, float *v, int h, int w, int cin, int tilesY,
                            int tilesX, int first, int count) {
  const f4 zero = wasm_f32x4_splat(0.0f);
  const int plane = count * cin;
  for (int t = 0; t < count; t++) {
    Tile at = tile_at(first + t, tilesY, tilesX);
    int y0 = at.y - 1, x0 = at.x - 1; /* the 4x4 input patch, one pixel of padding around */
    const float *image = x + (long)at.n * h * w * cin;
    int inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= h && x0 + 4 <= w;
    for (int c = 0; c < cin; c += 4) {
      f4 d[4][4];
      if (inside) {
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++) d[i][j] = LD(image + ((y0 + i) * w + x0 + j) * cin + c);
      } else {
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++) {
            int yy = y0 + i, xx = x0 + j;
            d[i][j] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? LD(image + (yy * w + xx) * cin + c)
                                                                 : zero;
          }
      }
      f4 r[4][4];
      for (int j = 0; j < 4; j++) {
        r[0][j] = SUB(d[0][j], d[2][j]);
        r[1][j] = ADD(d[1][j], d[2][j]);
        r[2][j] = SUB(d[2][j], d[1][j]);
        r[3][j] = SUB(d[1][j], d[3][j]);
      }
      float *o = v + t * cin + c;
      for (int i = 0; i < 4; i++) {
        ST(o + (i * 4 + 0) * plane, SUB(r[i][0], r[i][2]));
        ST(o + (i * 4 + 1) * plane, ADD(r[i][1], r[i][2]));
        ST(o + (i * 4 + 2) * plane, SUB(r[i][2], r[i][1]));
        ST(o + (i * 4 + 3) * plane, SUB(r[i][1], r[i][3]));
      }
    }
  }
}

/* Four rows by eight columns of a matrix product, kept in eight registers while it sums. */
typedef struct {
  f4 c[4][2];
} Block;

static inline Block block_load(const float *p, int stride) {
  Block b;
  for (int i = 0; i < 4; i++) {
    b.c[i][0] = LD(p + i * stride);
    b.c[i][1] = LD(p + i * stride + 4);
  }
  return b;
}

static inline void block_store(const Block *b, float *p, int stride) {
  for (int i = 0; i < 4; i++) {
    ST(p + i * stride, b->c[i][0]);
    ST(p + i * stride + 4, b->c[i][1]);
  }
}

/* acc[i][.] += x[i] * row[0..7]: one step of the sum, x[i] four scalars `step` floats apart. */
static inline void block_step(Block *acc, const float *x, int step, const float *row) {
  f4 b0 = LD(row), b1 = LD(row + 4);
  for (int i = 0; i < 4; i++) {
    f4 xi = wasm_v128_load32_splat(x + i * step);
    acc->c[i][0] = ADD(acc->c[i][0], MUL(xi, b0));
    acc->c[i][1] = ADD(acc->c[i][1], MUL(xi, b1));
  }
}

/* m[k] = v[k] (count x cin) times u[k] (cin x cout), for the 16 k. Four tiles by eight out-channels. */
static void products(const float *v, const float *u, float *m, int count, int cin, int cout) {
  for (int k = 0; k < 16; k++) {
    const float *vk = v + k * count * cin;
    const float *uk = u + k * cin * cout;
    float *mk = m + k * count * cout;
    int t = 0;
    for (; t + 4 <= count; t += 4) {
      const float *a = vk + t * cin;
      for (int co = 0; co < cout; co += 8) {
        Block acc = {{{0}}};
        const float *b = uk + co;
        for (int ci = 0; ci < cin; ci++, b += cout) block_step(&acc, a + ci, cin, b);
        block_store(&acc, mk + t * cout + co, cout);
      }
    }
    for (; t < count; t++) {
      const float *a0 = vk + t * cin;
      for (int co = 0; co < cout; co += 8) {
        f4 c00 = wasm_f32x4_splat(0), c01 = c00;
        const float *b = uk + co;
        for (int ci = 0; ci < cin; ci++, b += cout) {
          f4 x0 = wasm_v128_load32_splat(a0 + ci);
          c00 = ADD(c00, MUL(x0, LD(b)));
          c01 = ADD(c01, MUL(x0, LD(b + 4)));
        }
        ST(mk + t * cout + co, c00);
        ST(mk + t * cout + co + 4, c01);
      }
    }
  }
}

/* out tile = A^T m A (+ bias, then ReLU where asked), written where it falls inside the image.
 * Only the first coutOut (<= cout) channels are written, `coutOut` apart: the rest were padding. */
static void output_transform(const float *m, const float *bias, float *out, int h, int w,
                             int cout, int coutOut, int tilesY, int tilesX, int first, int count,
                             int relu) {
  const f4 zero = wasm_f32x4_splat(0.0f);
  const int plane = count * cout;
  for (int t = 0; t < count; t++) {
    Tile at = tile_at(first + t, tilesY, tilesX);
    int y0 = at.y, x0 = at.x;
    float *image = out + (long)at.n * h * w * coutOut;
    for (int c = 0; c < coutOut; c += 4) {
      const float *p = m + t * cout + c;
      f4 s[2][4];
      for (int j = 0; j < 4; j++) {
        f4 a = LD(p + (0 * 4 + j) * plane), b = LD(p + (1 * 4 + j) * plane);
        f4 cc = LD(p + (2 * 4 + j) * plane), d = LD(p + (3 * 4 + j) * plane);
        s[0][j] = ADD(ADD(a, b), cc);
        s[1][j] = SUB(SUB(b, cc), d);
      }
      f4 bv = bias ? LD(bias + c) : zero;
      for (int i = 0; i < 2; i++) {
        if (y0 + i >= h) break;
        f4 y[2];
        y[0] = ADD(ADD(ADD(s[i][0], s[i][1]), s[i][2]), bv);
        y[1] = ADD(SUB(SUB(s[i][1], s[i][2]), s[i][3]), bv);
        for (int j = 0; j < 2; j++) {
          if (x0 + j >= w) break;
          f4 value = relu ? wasm_f32x4_max(y[j], zero) : y[j];
          float *o = image + ((y0 + i) * w + x0 + j) * coutOut + c;
          if (c + 4 <= coutOut) {
            ST(o, value);
          } else {
            /* The last, partial group: lane by lane (lane indices must be constants). */
            o[0] = wasm_f32x4_extract_lane(value, 0);
            if (c + 1 < coutOut) o[1] = wasm_f32x4_extract_lane(value, 1);
            if (c + 2 < coutOut) o[2] = wasm_f32x4_extract_lane(value, 2);
          }
        }
      }
    }
  }
}

/*
 * The convolution, in blocks of `block` tiles so that a block's transformed input and products
 * stay in cache. `u` comes from filter_transform; `v` and `m` hold 16 * block * cin and
 * 16 * block * cout floats. The output has coutOut channels (the filter's first ones).
 */
__attribute__((export_name("convolve"))) void convolve(const float *x, const float *u,
                                                       const float *bias, float *out, float *v,
                                                       float *m, int n, int h, int w, int cin,
                                                       int cout, int coutOut, int block,
                                                       int relu) {
  int tilesY = (h + 1) / 2, tilesX = (w + 1) / 2;
  int tiles = n * tilesY * tilesX;
  for (int first = 0; first < tiles; first += block) {
    int count = tiles - first < block ? tiles - first : block;
    input_transform(x, v, h, w, cin, tilesY, tilesX, first, count);
    products(v, u, m, count, cin, cout);
    output_transform(m, bias, out, h, w, cout, coutOut, tilesY, tilesX, first, count, relu);
  }
}

/* d[.][t][.] = A dy A^T for the 2x2 output-gradient tiles first..first+count-1 (zero outside). */
static void gradient_transform(const float *dy, float *d, int h, int w, int cout, int tilesY,
                               int tilesX, int first, int count) {
  const f4 zero = wasm_f32x4_splat(0.0f);
  const int plane = count * cout;
  for (int t = 0; t < count; t++) {
    Tile at = tile_at(first + t, tilesY, tilesX);
    int y0 = at.y, x0 = at.x;
    const float *image = dy + (long)at.n * h * w * cout;
    int right = x0 + 1 < w, below = y0 + 1 < h;
    for (int c = 0; c < cout; c += 4) {
      f4 g00 = LD(image + (y0 * w + x0) * cout + c);
      f4 g01 = right ? LD(image + (y0 * w + x0 + 1) * cout + c) : zero;
      f4 g10 = below ? LD(image + ((y0 + 1) * w + x0) * cout + c) : zero;
      f4 g11 = right && below ? LD(image + ((y0 + 1) * w + x0 + 1) * cout + c) : zero;
      /* A = [[1,0],[1,1],[1,-1],[0,-1]] on rows, then on columns. */
      f4 r[4][2] = {{g00, g01},
                    {ADD(g00, g10), ADD(g01, g11)},
                    {SUB(g00, g10), SUB(g01, g11)},
                    {SUB(zero, g10), SUB(zero, g11)}};
      float *o = d + t * cout + c;
      for (int i = 0; i < 4; i++) {
        ST(o + (i * 4 + 0) * plane, r[i][0]);
        ST(o + (i * 4 + 1) * plane, ADD(r[i][0], r[i][1]));
        ST(o + (i * 4 + 2) * plane, SUB(r[i][0], r[i][1]));
        ST(o + (i * 4 + 3) * plane, SUB(zero, r[i][1]));
      }
    }
  }
}

/* acc[k] (cin x cout) += v[k]^T (cin x count) d[k] (count x cout): four in- by eight out-channels. */
static void accumulate(const float *v, const float *d, float *acc, int count, int cin, int cout) {
  for (int k = 0; k < 16; k++) {
    const float *vk = v + k * count * cin;
    const float *dk = d + k * count * cout;
    float *ak = acc + k * cin * cout;
    for (int ci = 0; ci < cin; ci += 4)
      for (int co = 0; co < cout; co += 8) {
        float *a = ak + ci * cout + co;
        Block acc = block_load(a, cout);
        const float *x = vk + ci;
        const float *g = dk + co;
        for (int t = 0; t < count; t++, x += cin, g += cout) block_step(&acc, x, 1, g);
        block_store(&acc, a, cout);
      }
  }
}

/*
 * The filter gradient dw [3][3][cinOut][cout] of the 3x3 stride-1 'same' convolution of x by any
 * filter, given the output gradient dy. x may carry zero channels beyond cinOut (cin is a
 * multiple of 4). `acc` holds 16 * cin * cout floats; `v` and `d` hold 16 * block * cin and
 * 16 * block * cout.
 */
__attribute__((export_name("filter_gradient"))) void filter_gradient(
    const float *x, const float *dy, float *dw, float *acc, float *v, float *d, int n, int h,
    int w, int cin, int cinOut, int cout, int block) {
  const f4 zero = wasm_f32x4_splat(0.0f);
  const f4 half = wasm_f32x4_splat(0.5f);
  for (int i = 0; i < 16 * cin * cout; i += 4) ST(acc + i, zero);
  int tilesY = (h + 1) / 2, tilesX = (w + 1) / 2;
  int tiles = n * tilesY * tilesX;
  for (int first = 0; first < tiles; first += block) {
    int count = tiles - first < block ? tiles - first : block;
    input_transform(x, v, h, w, cin, tilesY, tilesX, first, count);
    gradient_transform(dy, d, h, w, cout, tilesY, tilesX, first, count);
    accumulate(v, d, acc, count, cin, cout);
  }
  /* dw = G^T acc G: G^T = [[1,.5,.5,0],[0,.5,-.5,0],[0,.5,.5,1]]. */
  const int plane = cin * cout;
  for (int ci = 0; ci < cinOut; ci++)
    for (int co = 0; co < cout; co += 4) {
      const float *a = acc + ci * cout + co;
      f4 m[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) m[i][j] = LD(a + (i * 4 + j) * plane);
      f4 t[3][4];
      for (int j = 0; j < 4; j++) {
        f4 s = MUL(half, ADD(m[1][j], m[2][j]));
        t[0][j] = ADD(m[0][j], s);
        t[1][j] = MUL(half, SUB(m[1][j], m[2][j]));
        t[2][j] = ADD(s, m[3][j]);
      }
      for (int i = 0; i < 3; i++) {
        f4 s = MUL(half, ADD(t[i][1], t[i][2]));
        float *o = dw + (i * 3 * cinOut + ci) * cout + co;
        ST(o, ADD(t[i][0], s));
        ST(o + cinOut * cout, MUL(half, SUB(t[i][1], t[i][2])));
        ST(o + 2 * cinOut * cout, ADD(s, t[i][3]));
      }
    }
}
