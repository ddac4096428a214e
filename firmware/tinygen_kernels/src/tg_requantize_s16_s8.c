/* tg_requantize_s16_s8: int16_t -> int8_t requantization (TFLite's QUANTIZE between activation types):
 * out = clamp(output_offset + requant(x + input_offset, s_in / s_out)), plain C99. */
#include "tg_s16.h"

void tg_requantize_s16_s8(const tg_context *ctx, const tg_requantize_params *p, const int16_t *input, int8_t *output)
{
    int32_t i;
    (void)ctx;
    for (i = 0; i < p->size; ++i) {
        const int32_t value = tg_requantize(input[i] + p->input_offset, p->multiplier, p->shift) + p->output_offset;
        output[i] = (int8_t)TG_CLAMP(value, -128, 127);
    }
}
