/* tinygen kernel library: layer normalization over the last axis, in integers. */
#ifndef TG_LAYER_NORM_H
#define TG_LAYER_NORM_H

#include "tg_types.h"

/* Input and output [rows, depth], row-major. Per row (tinygen/ops/layernorm.py derives each bound):
 *   d_k = depth q_k - sum q (int32), V = sum d_k^2 + eps_term (int64), U_k = d_k / sqrt(V) in Q31 through
 *   an exact integer square root, then y_k = output_offset + round((MBQM(+-U_k, |multiplier_k|, shift_k)
 *   + bias_k) / 2^8), clamped to int8. The input zero point cancels in d_k, so it is not a parameter. */
typedef struct {
    int32_t rows;              /* >= 1: independent rows */
    int32_t depth;             /* D in [1, 16384]: keeps sum d^2 below 2^58 and d R below 2^53 */
    int64_t eps_term;          /* round(eps D^3 / s_in^2), in [0, 2^58] */
    int32_t output_offset;     /* output zero point, in [-128, 127] */
    const int32_t *multiplier; /* [depth]: |gamma| sqrt(D) 2^8 / (s_out 2^31) as a Q31 multiplier (0 or
                                  [2^30, 2^31) in magnitude), negated where gamma < 0 */
    const int8_t *shift;       /* [depth]: in [-31, -2] (the multiplier is below 2^-2), or 0 with multiplier 0 */
    const int32_t *bias;       /* [depth]: beta / s_out with 8 fraction bits, in [-2^29, 2^29] */
} tg_layer_norm_params;

/* In-place use (output == input) is allowed: a row's statistics read the whole row before any output of it
 * is written, then each output replaces the input it is computed from. No scratch. */
void tg_layer_norm_s8(const tg_context *ctx, const tg_layer_norm_params *params, const int8_t *input,
                      int8_t *output);

#endif /* TG_LAYER_NORM_H */
