/* tinygen kernel library: concatenation along the channel (innermost) axis. */
#ifndef TG_CONCAT_H
#define TG_CONCAT_H

#include "tg_types.h"

typedef struct {
    int32_t outer;           /* positions (pixels, rows) */
    int32_t output_channels; /* sum of the inputs' channels */
    int32_t num_inputs;
    const int32_t *channels;     /* [num_inputs] */
    const int32_t *requant;      /* [num_inputs] 1: the input's quantization differs from the output's */
    const int32_t *input_offset; /* [num_inputs] -zero points */
    const int32_t *multiplier;   /* [num_inputs] s_in / s_out */
    const int32_t *shift;
    int32_t output_offset;
} tg_concat_params;

void tg_concat_s8(const tg_context *ctx, const tg_concat_params *params, const int8_t *const *inputs,
                  int8_t *output);

#endif /* TG_CONCAT_H */
