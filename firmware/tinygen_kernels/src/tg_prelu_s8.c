/* tg_prelu_s8: per-channel parametric ReLU, plain C99. */
#include "tg_prelu.h"
#include "tg_requant.h"

void tg_prelu_s8(const tg_context *ctx, const tg_prelu_params *p, const int8_t *input,
                 const int8_t *alpha, int8_t *output)
{
    int32_t position, c;
    (void)ctx;
    for (position = 0; position < p->outer; ++position) {
        for (c = 0; c < p->channels; ++c) {
            const int32_t x = *input++ + p->input_offset;
            int32_t value;
            if (x >= 0) {
                value = tg_requantize(x, p->positive_multiplier, p->positive_shift);
            } else {
                value = tg_requantize(x * (alpha[c] + p->alpha_offset), p->negative_multiplier, p->negative_shift);
            }
            value += p->output_offset;
            *output++ = (int8_t)TG_CLAMP(value, -128, 127);
        }
    }
}
