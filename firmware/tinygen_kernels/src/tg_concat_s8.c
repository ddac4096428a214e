/* tg_concat_s8: channel concatenation with optional requantization, plain C99. */
#include <string.h>

#include "tg_concat.h"
#include "tg_requant.h"

void tg_concat_s8(const tg_context *ctx, const tg_concat_params *p, const int8_t *const *inputs,
                  int8_t *output)
{
    int32_t position, i, c, first_channel = 0;
    (void)ctx;
    for (i = 0; i < p->num_inputs; ++i) {
        const int32_t channels = p->channels[i];
        for (position = 0; position < p->outer; ++position) {
            const int8_t *in = inputs[i] + position * channels;
            int8_t *out = output + position * p->output_channels + first_channel;
            if (!p->requant[i]) {
                memcpy(out, in, (size_t)channels);
                continue;
            }
            for (c = 0; c < channels; ++c) {
                const int32_t value = tg_requantize(in[c] + p->input_offset[i], p->multiplier[i], p->shift[i]) +
                                      p->output_offset;
                out[c] = (int8_t)TG_CLAMP(value, -128, 127);
            }
        }
        first_channel += channels;
    }
}
