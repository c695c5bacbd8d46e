/*
 * The gradient of 2x2 stride-2 max pooling, NHWC, channels a multiple of 4, even height and
 * width: each window's output gradient goes to the inputs equal to the window's maximum, shared
 * equally among tied maxima (the rule PhaseLens's other pooling gradients follow). One pass over
 * the input, four channels at a time, where tfjs's window-wise kernels took ten.
 *
 * `mode` folds in the ReLU before the pooling (attribution maps): 0 none; 1 rectified, where a
 * window whose maximum is 0 passes nothing (the ReLU's gradient there); 2 rectified and guided,
 * where only positive output gradients pass.
 *
 * Built by scripts/build-kernels.sh; imports the backend's memory and owns none.
 */
#include "simd.h"

__attribute__((export_name("max_pool_gradient"))) void max_pool_gradient(
    const float *x, const float *y, const float *dy, float *dx, int n, int h, int w, int c,
    int mode) {
  const f4 one = wasm_f32x4_splat(1.0f);
  const f4 zero = wasm_f32x4_splat(0.0f);
  const int ho = h / 2, wo = w / 2;
  for (int b = 0; b < n; b++)
    for (int i = 0; i < ho; i++)
      for (int j = 0; j < wo; j++) {
        const int top = ((b * h + 2 * i) * w + 2 * j) * c;
        const int below = top + w * c;
        const int window = ((b * ho + i) * wo + j) * c;
        for (int k = 0; k < c; k += 4) {
          f4 m = wasm_v128_load(y + window + k);
          /* Rectified: a zero maximum matches nothing (NaN never equals). */
          if (mode) m = wasm_v128_bitselect(m, wasm_f32x4_splat(__builtin_nanf("")),
                                            wasm_f32x4_gt(m, zero));
          f4 x00 = wasm_v128_load(x + top + k), x01 = wasm_v128_load(x + top + c + k);
          f4 x10 = wasm_v128_load(x + below + k), x11 = wasm_v128_load(x + below + c + k);
          f4 h00 = wasm_f32x4_eq(x00, m), h01 = wasm_f32x4_eq(x01, m);
          f4 h10 = wasm_f32x4_eq(x10, m), h11 = wasm_f32x4_eq(x11, m);
          f4 count = wasm_f32x4_add(
              wasm_f32x4_add(wasm_v128_and(h00, one), wasm_v128_and(h01, one)),
              wasm_f32x4_add(wasm_v128_and(h10, one), wasm_v128_and(h11, one)));
          /* A window without hits (NaN input) divides by 1: its gradient is lost, not NaN. */
          f4 g = wasm_v128_load(dy + window + k);
          if (mode == 2) g = wasm_v128_and(g, wasm_f32x4_gt(g, zero));
          f4 share = wasm_f32x4_div(g, wasm_f32x4_max(count, one));
          wasm_v128_store(dx + top + k, wasm_v128_and(h00, share));
          wasm_v128_store(dx + top + c + k, wasm_v128_and(h01, share));
          wasm_v128_store(dx + below + k, wasm_v128_and(h10, share));
          wasm_v128_store(dx + below + c + k, wasm_v128_and(h11, share));
        }
      }
}
