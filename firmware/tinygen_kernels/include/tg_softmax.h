/* tinygen kernel library: softmax (TFLite int8 fixed-point algorithm). */
#ifndef TG_SOFTMAX_H
#define TG_SOFTMAX_H

#include "tg_types.h"

/* Input and output [outer, depth, inner], row-major: a softmax over the middle axis. Row r (of
 * outer * inner) holds the depth values at (r / inner) * depth * inner + r % inner + k * inner. */
typedef struct {
    int32_t rows;               /* >= 1: independent rows, outer * inner */
    int32_t depth;              /* values per row (the softmax axis), in [1, 4095]: the sum of the
                                   exponentials (each <= 2^19 in Q12.19) stays in int32 */
    int32_t inner;              /* >= 1, dividing rows: elements between a row's consecutive values (1: the
                                   innermost axis) */
    int32_t input_multiplier;   /* beta * s_in * 2^26 as (Q31 multiplier in [2^30, 2^31), left shift) */
    int32_t input_left_shift;   /* in [0, 31] */
    int32_t diff_min;           /* <= 0: differences from the row's max below this give exp = 0 */
    int32_t rescale;            /* 1: requantize the output (1/256 or 16/256 steps) to other parameters */
    int32_t output_multiplier;  /* (1/256 or 16/256) / s_out when rescale: 0 or in [2^30, 2^31) */
    int32_t output_shift;       /* in [-31, 30] */
    int32_t output_offset;      /* output zero point, in [-128, 127], used when rescale */
    int32_t log;                /* 1: log-softmax (TFLite LOG_SOFTMAX: output scale 16/256, zero point 127,
                                   unless rescaled); 0: softmax */
    int32_t reverse_multiplier; /* log only: 2^(31 - input_left_shift) / input_multiplier as (multiplier in
                                   [2^30, 2^31), shift in [-31, 0]): a Q5.26 value back in input steps */
    int32_t reverse_shift;      /* see reverse_multiplier */
    const int32_t *exp_table;   /* NULL, or 256 entries: [k] = the Q0.31 exponential of the rescaled difference
                                   -k (tinygen/ops/softmax.py exp_table), read instead of computing it; a row's
                                   differences are in [-255, 0], so the entries cover every value (same bytes) */
} tg_softmax_params;

/* Softmax: output scale 1/256, zero point -128; log-softmax: 16/256, 127 (unless rescaled). In-place use
 * (output == input) is allowed: row by row, the max and the sum read the row, then each output replaces
 * the input it was computed from (rows share no element). */
void tg_softmax_s8(const tg_context *ctx, const tg_softmax_params *params, const int8_t *input,
                   int8_t *output);

#endif /* TG_SOFTMAX_H */
