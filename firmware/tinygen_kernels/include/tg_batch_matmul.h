/* tinygen kernel library: matrix product of two int8 tensors (TFLite int8 BATCH_MATMUL arithmetic). */
#ifndef TG_BATCH_MATMUL_H
#define TG_BATCH_MATMUL_H

#include "tg_types.h"

/* out[b0, b1, m, n] = clamp(output_offset + requantize(sum_k (lhs[b0, b1, m, k] + lhs_offset)
 *                                                        * (rhs[b0, b1, k, n] + rhs_offset)), min, max)
 * Every tensor is addressed through element strides, so a transposed operand (K^T in attention) or a
 * transposed output is read or written where it lies, without a copy. */
typedef struct {
    tg_dims output;            /* [B0, B1, M, N] as (n, h, w, c): two batch axes, rows, columns; each >= 1 */
    int32_t depth;             /* K >= 1, the summed axis; K * max|lhs + lhs_offset| * max|rhs + rhs_offset| < 2^31
                                  (the compiler checks it): the int32 accumulator cannot overflow */
    tg_dims lhs_strides;       /* element strides of lhs along (b0, b1, m, k); 0 along a broadcast batch axis */
    tg_dims rhs_strides;       /* element strides of rhs along (b0, b1, k, n); 0 along a broadcast batch axis */
    tg_dims output_strides;    /* element strides of the output along (b0, b1, m, n): every element written once */
    int32_t lhs_offset;        /* -zero point of lhs, in [-127, 128] */
    int32_t rhs_offset;        /* -zero point of rhs, in [-127, 128] */
    int32_t output_offset;     /* output zero point, in [-128, 127] */
    int32_t output_multiplier; /* s_lhs s_rhs / s_out as a Q31 multiplier: 0 or in [2^30, 2^31) */
    int32_t output_shift;      /* in [-31, 30] */
    int32_t activation_min;    /* fused activation clamp, -128 <= min <= max <= 127 */
    int32_t activation_max;
} tg_batch_matmul_params;

/* The output must not overlap either operand (rows of lhs are read once per output column). No scratch. */
void tg_batch_matmul_s8(const tg_context *ctx, const tg_batch_matmul_params *params, const int8_t *lhs,
                        const int8_t *rhs, int8_t *output);

#endif /* TG_BATCH_MATMUL_H */
