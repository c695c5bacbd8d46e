/* Shorthands for WebAssembly SIMD on four float32 lanes, shared by the kernels of this folder. */
#ifndef PHASELENS_SIMD_H
#define PHASELENS_SIMD_H
#include <wasm_simd128.h>

typedef v128_t f4;
#define LD(p) wasm_v128_load(p)
#define ST(p, a) wasm_v128_store(p, a)
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul

#endif
