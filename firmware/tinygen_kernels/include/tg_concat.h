/* tinygen kernel library: concatenation along the channel (innermost) axis. */
#ifndef TG_CONCAT_H
#define TG_CONCAT_H

#include "tg_types.h"

/* Input i is [outer, channels[i]], the output [outer, output_channels], both row-major. */
typedef struct {
    int32_t outer;               /* >= 1: positions (pixels, rows) */
    int32_t output_channels;     /* sum of the inputs' channels */
    int32_t num_inputs;          /* >= 1 */
    const int32_t *channels;     /* [num_inputs], each >= 1 */
    const int32_t *requant;      /* [num_inputs] 1: the input's quantization differs from the output's (0: copied) */
    const int32_t *input_offset; /* [num_inputs] -zero points, in [-127, 128] */
    const int32_t *multiplier;   /* [num_inputs] s_in / s_out: 0 or in [2^30, 2^31) (0 where not requant) */
    const int32_t *shift;        /* [num_inputs] in [-31, 30] */
    int32_t output_offset;       /* output zero point, in [-128, 127] */
} tg_concat_params;

void tg_concat_s8(const tg_context *ctx, const tg_concat_params *params, const int8_t *const *inputs,
                  int8_t *output);

#endif /* TG_CONCAT_H */
