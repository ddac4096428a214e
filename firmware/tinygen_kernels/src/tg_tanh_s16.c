/* tg_tanh_s16: TFLite's int16 TANH, plain C99 (tinygen/ops/sigmoid_s16.py is its golden twin): tanh(x) =
 * 2 sigmoid(2x) - 1 from the same Q0.16 sigmoid table, indexed every 2^8 rescaled steps with 8 bits of
 * interpolation, saturating at 0xFFFF << 8 beyond it; 2 sigmoid - 1 and the mirror for x < 0 are folded
 * into one offset, and the result goes from Q0.16 + 8 bits to Q0.15 (>> 8, arithmetic on the negative). */
#include "tg_s16.h"

void tg_tanh_s16(const tg_context *ctx, const tg_sigmoid_s16_params *p, const int16_t *input, int16_t *output)
{
    const int32_t rounding = p->input_left_shift > 0 ? 1 << (p->input_left_shift - 1) : 0;
    int32_t i;
    (void)ctx;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (input[i] * p->input_multiplier + rounding) >> p->input_left_shift;
        const int32_t magnitude = x < 0 ? -x : x;
        const int32_t index = magnitude >> 8;
        int32_t result;
        if (index >= 255) {
            result = 0xFFFF << 8;
        } else {
            const int32_t low = p->table[index], high = p->table[index + 1];
            result = low * 256 + (magnitude & 0xFF) * (high - low);
        }
        result = x >= 0 ? result - (1 << (14 + 9)) + (1 << (9 - 2)) : -result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1;
        output[i] = (int16_t)(result >> (9 - 1));
    }
}
