/* tinygen kernel library: softmax (TFLite int8 fixed-point algorithm). */
#ifndef TG_SOFTMAX_H
#define TG_SOFTMAX_H

#include "tg_types.h"

typedef struct {
    int32_t rows;             /* independent rows */
    int32_t depth;            /* values per row (the softmax axis, innermost) */
    int32_t input_multiplier; /* beta * s_in * 2^26 as (Q31 multiplier, left shift) */
    int32_t input_left_shift;
    int32_t diff_min; /* differences below this give exp = 0 */
    int32_t rescale;  /* 1: requantize the 1/256-step output to other parameters */
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;
} tg_softmax_params;

/* Output scale 1/256, zero point -128 (unless rescaled). In-place use (output == input) is allowed: row by
 * row, the max and the sum read the row, then each output replaces the input it was computed from. */
void tg_softmax_s8(const tg_context *ctx, const tg_softmax_params *params, const int8_t *input,
                   int8_t *output);

#endif /* TG_SOFTMAX_H */
