/* tg_requantize_s8_s16: int8_t -> int16_t requantization (TFLite's QUANTIZE between activation types):
 * out = clamp(output_offset + requant(x + input_offset, s_in / s_out)), plain C99. */
#include "tg_s16.h"

void tg_requantize_s8_s16(const tg_context *ctx, const tg_requantize_params *p, const int8_t *input, int16_t *output)
{
    int32_t i;
    (void)ctx;
    for (i = 0; i < p->size; ++i) {
        const int32_t value = tg_requantize(input[i] + p->input_offset, p->multiplier, p->shift) + p->output_offset;
        output[i] = (int16_t)TG_CLAMP(value, -32768, 32767);
    }
}
