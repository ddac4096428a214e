/* tinygen kernel library: parametric ReLU with one slope per channel (TFLite int8 PRELU). */
#ifndef TG_PRELU_H
#define TG_PRELU_H

#include "tg_types.h"

/* Input and output [outer, channels], row-major; alpha [channels] int8. Multipliers are 0 or in
 * [2^30, 2^31), shifts in [-31, 30] (tg_requant.h). */
typedef struct {
    int32_t outer;               /* >= 1: positions */
    int32_t channels;            /* >= 1: innermost axis; alpha has one value per channel */
    int32_t input_offset;        /* -input zero point, in [-127, 128] */
    int32_t alpha_offset;        /* -alpha zero point, in [-127, 128] */
    int32_t output_offset;       /* output zero point, in [-128, 127] */
    int32_t positive_multiplier; /* s_in / s_out */
    int32_t positive_shift;
    int32_t negative_multiplier; /* s_in s_alpha / s_out */
    int32_t negative_shift;
} tg_prelu_params;

/* In-place use (output == input) is allowed: elements in order, each read before it is written. */
void tg_prelu_s8(const tg_context *ctx, const tg_prelu_params *params, const int8_t *input,
                 const int8_t *alpha, int8_t *output);

#endif /* TG_PRELU_H */
