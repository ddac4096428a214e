/* tinygen kernel library: parameter types shared by every kernel.
 *
 * Layouts: every feature map is channels-last, [N, H, W, C] (TFLite / CMSIS-NN order); a 1-D
 * feature map is [N, 1, L, C]; a matrix is [rows, columns], row-major.
 * Quantization: real = scale * (q - zero_point). Kernels receive the *negated* input zero point
 * as `input_offset` (so they add it) and the output zero point as `output_offset`, as TFLite does.
 * Requantization multipliers are Q31 int32 in [0, 2^31) with a shift (> 0 left, < 0 right); see
 * tg_requant.h.
 */
#ifndef TG_TYPES_H
#define TG_TYPES_H

#include <stdint.h>

/* A tensor shape, channels-last [N, H, W, C]: each >= 1, the product below 2^31 (N is 1 for feature
 * maps). Kernels that take any rank (elementwise, pad, transpose) see it as 4-D storage [d0, d1, d2, d3]
 * with the leading axes 1. */
typedef struct {
    int32_t n, h, w, c;
} tg_dims;

/* A pair of values along height and width (stride, dilation, kernel size): each >= 1. */
typedef struct {
    int32_t h, w;
} tg_hw;

/* Padding on each side, in input pixels: each >= 0. */
typedef struct {
    int32_t top, left, bottom, right;
} tg_padding;

/* Kernel scratch memory: a slice of the model's arena, sized by the kernel's
 * tg_<op>_get_buffer_size() (and by the compiler, which plans it). */
typedef struct {
    void *buf;    /* 4-byte aligned (the DSP variants read it as words), or NULL when size is 0 */
    int32_t size; /* bytes, at least the kernel's _get_buffer_size (a DSP variant given less than its own
                     falls back to the plain kernel) */
} tg_context;

/* A per-tensor requantization: real multiplier = multiplier * 2^(shift - 31). */
typedef struct {
    int32_t multiplier; /* 0 or in [2^30, 2^31) (tinygen.arith.quantize_multiplier normalizes it) */
    int32_t shift;      /* in [-31, 30]; > 0 shifts left */
} tg_requant;

#endif /* TG_TYPES_H */
