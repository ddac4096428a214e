/* tg_concat_s16: concatenation of int16 blocks with optional requantization, plain C99 (as tg_concat_s8,
 * values clamped to int16). */
#include <string.h>

#include "tg_s16.h"

void tg_concat_s16(const tg_context *ctx, const tg_concat_params *p, const int16_t *const *inputs,
                   int16_t *output)
{
    const int32_t stride = p->output_channels;
    int32_t position, i, c, first_channel = 0;
    (void)ctx;
    for (i = 0; i < p->num_inputs; ++i) {
        const int32_t channels = p->channels[i];
        const int16_t *in = inputs[i];
        int16_t *out = output + first_channel;
        for (position = 0; position < p->outer; ++position) {
            if (p->requant[i]) {
                for (c = 0; c < channels; ++c) {
                    const int32_t value = tg_requantize(in[c] + p->input_offset[i], p->multiplier[i], p->shift[i]) + p->output_offset;
                    out[c] = (int16_t)TG_CLAMP(value, -32768, 32767);
                }
            } else {
                memcpy(out, in, (size_t)channels * sizeof *out);
            }
            in += channels;
            out += stride;
        }
        first_channel += channels;
    }
}
