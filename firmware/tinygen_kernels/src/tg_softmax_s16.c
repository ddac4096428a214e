/* tg_softmax_s16: TFLite's int16 SOFTMAX, plain C99. Per row: the differences from the row's max, scaled so
 * that [-65535, 0] steps span [-10, 0], index the exp table (Q0.15, interpolated); their sum (< 2^31 for
 * depth < 65536) is normalized to a Q1.15 value in [1, 2) whose reciprocal comes from the 1 / (1 + x)
 * table; each exponential times that reciprocal, shifted back by the sum's magnitude, is the output in
 * Q0.15 (scale 1/32768, zero point 0). */
#include "tg_s16.h"

int32_t tg_softmax_s16_get_buffer_size(const tg_softmax_s16_params *params)
{
    return 2 * params->depth;
}

static int32_t leading_zeros(uint32_t x)
{
    int32_t n = 0;
    while (n < 32 && (x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

void tg_softmax_s16(const tg_context *ctx, const tg_softmax_s16_params *p, const int16_t *input,
                    int16_t *output)
{
    int16_t *exps = (int16_t *)ctx->buf;
    const int32_t depth = p->depth, inner = p->inner;
    int32_t r, k;
    for (r = 0; r < p->rows; ++r) {
        const int32_t first = (r / inner) * depth * inner + r % inner;
        int32_t max_value = -32768, sum = 0, headroom, shifted, right_shift;
        int16_t reciprocal;
        for (k = 0; k < depth; ++k) {
            max_value = TG_MAX(max_value, input[first + k * inner]);
        }
        for (k = 0; k < depth; ++k) {
            const int32_t diff = input[first + k * inner] - max_value; /* in [-65535, 0] */
            const int32_t scaled = tg_requantize(diff, p->input_multiplier, p->input_shift) + 32767;
            exps[k] = tg_table_lookup_s16(TG_CLAMP(scaled, -32768, 32767), p->exp_table);
            sum += exps[k];
        }
        /* sum >= 1 (the max's own exponential is 32767): its top bit moved to bit 30 and rounded to 17 bits
         * is (1 + x) 2^16 with x in [0, 1); minus 3 2^15 recentres it on the table's [-32768, 32767]. */
        headroom = leading_zeros((uint32_t)sum);
        shifted = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14);
        reciprocal = tg_table_lookup_s16(TG_CLAMP(shifted - ((1 << 15) + (1 << 16)), -32768, 32767),
                                         p->one_over_one_plus_x_table);
        right_shift = 31 - headroom;
        for (k = 0; k < depth; ++k) {
            const int64_t product = (int64_t)exps[k] * reciprocal + ((int64_t)1 << (right_shift - 1));
            const int64_t result = product >> right_shift;
            output[first + k * inner] = (int16_t)TG_CLAMP(result, 0, 32767);
        }
    }
}
