/* tg_concat_s8: concatenation of blocks with optional requantization, plain C99.
 *
 * The parameters are read into locals once: the int8 stores may alias them as far as the compiler knows,
 * which would reload every field per byte. */
#include <string.h>

#include "tg_concat.h"
#include "tg_requant.h"

void tg_concat_s8(const tg_context *ctx, const tg_concat_params *p, const int8_t *const *inputs,
                  int8_t *output)
{
    const int32_t outer = p->outer;
    const int32_t stride = p->output_channels;
    const int32_t output_offset = p->output_offset;
    int32_t position, i, c, first_channel = 0;
    (void)ctx;
    for (i = 0; i < p->num_inputs; ++i) {
        const int32_t channels = p->channels[i];
        const int8_t *in = inputs[i];
        int8_t *out = output + first_channel;
        if (p->requant[i]) {
            const int32_t offset = p->input_offset[i];
            const int32_t multiplier = p->multiplier[i];
            const int32_t shift = p->shift[i];
            for (position = 0; position < outer; ++position) {
                for (c = 0; c < channels; ++c) {
                    const int32_t value = tg_requantize(in[c] + offset, multiplier, shift) + output_offset;
                    out[c] = (int8_t)TG_CLAMP(value, -128, 127);
                }
                in += channels;
                out += stride;
            }
        } else if (channels == 1) {
            /* Single bytes taken in turn (a channel concat folded with a channel shuffle). */
            for (position = 0; position < outer; ++position) {
                *out = *in++;
                out += stride;
            }
        } else if (channels < 16) {
            /* Short blocks: a memcpy call would cost more than the bytes it moves. */
            for (position = 0; position < outer; ++position) {
                for (c = 0; c < channels; ++c) {
                    out[c] = in[c];
                }
                in += channels;
                out += stride;
            }
        } else {
            for (position = 0; position < outer; ++position) {
                memcpy(out, in, (size_t)channels);
                in += channels;
                out += stride;
            }
        }
        first_channel += channels;
    }
}
