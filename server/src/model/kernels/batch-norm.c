/*
 * Batch normalisation for training over an [m][c] matrix (NHWC flattened), c a multiple of 4:
 * channel moments, the normalisation y = (x - mean) * scale + beta, and its closed-form gradient
 *   dbeta = sum(dy), s = sum(dy * (x - mean)), dgamma = s * inv,
 *   dx = gamma * inv * (dy - dbeta / m - (x - mean) * inv * dgamma / m).
 * Each is one or two passes over the matrix, where tfjs's element-wise kernels took about ten.
 * Sums run in blocks of 256 rows, then across blocks, to keep float32 rounding small.
 *
 * Built by scripts/build-kernels.sh; imports the backend's memory and owns none: `scratch`
 * holds 2 * c floats.
 */
#include "simd.h"
#define BLOCK 256

static void zero(float *p, int c) {
  for (int k = 0; k < c; k += 4) ST(p + k, wasm_f32x4_splat(0.0f));
}

/* mean[k] and the biased variance[k] of each channel, in two passes (centred squares). */
__attribute__((export_name("channel_moments"))) void channel_moments(const float *x, float *mean,
                                                                     float *variance,
                                                                     float *scratch, int m, int c) {
  float *part = scratch;
  zero(mean, c);
  for (int first = 0; first < m; first += BLOCK) {
    int last = first + BLOCK < m ? first + BLOCK : m;
    zero(part, c);
    for (int r = first; r < last; r++)
      for (int k = 0; k < c; k += 4) ST(part + k, ADD(LD(part + k), LD(x + r * c + k)));
    for (int k = 0; k < c; k += 4) ST(mean + k, ADD(LD(mean + k), LD(part + k)));
  }
  const f4 inverseCount = wasm_f32x4_splat(1.0f / (float)m);
  for (int k = 0; k < c; k += 4) ST(mean + k, MUL(LD(mean + k), inverseCount));
  zero(variance, c);
  for (int first = 0; first < m; first += BLOCK) {
    int last = first + BLOCK < m ? first + BLOCK : m;
    zero(part, c);
    for (int r = first; r < last; r++)
      for (int k = 0; k < c; k += 4) {
        f4 d = SUB(LD(x + r * c + k), LD(mean + k));
        ST(part + k, ADD(LD(part + k), MUL(d, d)));
      }
    for (int k = 0; k < c; k += 4) ST(variance + k, ADD(LD(variance + k), LD(part + k)));
  }
  for (int k = 0; k < c; k += 4) ST(variance + k, MUL(LD(variance + k), inverseCount));
}

/* y = (x - mean) * scale + beta. */
__attribute__((export_name("normalise"))) void normalise(const float *x, const float *mean,
                                                         const float *scale, const float *beta,
                                                         float *y, int m, int c) {
  for (int r = 0; r < m; r++)
    for (int k = 0; k < c; k += 4)
      ST(y + r * c + k,
         ADD(MUL(SUB(LD(x + r * c + k), LD(mean + k)), LD(scale + k)), LD(beta + k)));
}

/* dx, dgamma and dbeta of y = (x - mean) * gamma * inv + beta, with mean and inv = 1/sigma
 * taken from x itself (their gradient is part of the closed form). */
__attribute__((export_name("normalise_gradient"))) void normalise_gradient(
    const float *dy, const float *x, const float *mean, const float *inv, const float *gamma,
    float *dx, float *dgamma, float *dbeta, float *scratch, int m, int c) {
  float *partBeta = scratch, *partCross = scratch + c;
  float *cross = dgamma; /* sum(dy * (x - mean)) until the end */
  zero(dbeta, c);
  zero(cross, c);
  for (int first = 0; first < m; first += BLOCK) {
    int last = first + BLOCK < m ? first + BLOCK : m;
    zero(partBeta, c);
    zero(partCross, c);
    for (int r = first; r < last; r++)
      for (int k = 0; k < c; k += 4) {
        f4 g = LD(dy + r * c + k);
        ST(partBeta + k, ADD(LD(partBeta + k), g));
        ST(partCross + k, ADD(LD(partCross + k), MUL(g, SUB(LD(x + r * c + k), LD(mean + k)))));
      }
    for (int k = 0; k < c; k += 4) {
      ST(dbeta + k, ADD(LD(dbeta + k), LD(partBeta + k)));
      ST(cross + k, ADD(LD(cross + k), LD(partCross + k)));
    }
  }
  /* Per channel: a = gamma * inv, b = dbeta / m, q = inv^2 * cross / m;
   * dx = a * (dy - b - (x - mean) * q). The constants live in scratch. */
  float *a = partBeta, *q = partCross;
  const f4 inverseCount = wasm_f32x4_splat(1.0f / (float)m);
  for (int k = 0; k < c; k += 4) {
    f4 i = LD(inv + k);
    ST(a + k, MUL(LD(gamma + k), i));
    ST(q + k, MUL(MUL(MUL(i, i), LD(cross + k)), inverseCount));
  }
  for (int r = 0; r < m; r++)
    for (int k = 0; k < c; k += 4) {
      f4 b = MUL(LD(dbeta + k), inverseCount);
      f4 centred = SUB(LD(x + r * c + k), LD(mean + k));
      ST(dx + r * c + k, MUL(LD(a + k), SUB(SUB(LD(dy + r * c + k), b), MUL(centred, LD(q + k)))));
    }
  for (int k = 0; k < c; k += 4) ST(dgamma + k, MUL(LD(cross + k), LD(inv + k)));
}
