/* tg_logistic_s16: TFLite's int16 LOGISTIC, plain C99 (tinygen/ops/sigmoid_s16.py is its golden twin).
 * The rescaled |x| indexes the Q0.16 sigmoid table every 2^9 steps; the 9 bits below weight the step to
 * the next entry. Beyond the table the result saturates at 0x7FFF << 10. Negative inputs mirror it
 * (sigmoid(-x) = 1 - sigmoid(x)); the result is rounded from Q0.16 + 9 bits to Q0.15. */
#include "tg_s16.h"

void tg_logistic_s16(const tg_context *ctx, const tg_sigmoid_s16_params *p, const int16_t *input, int16_t *output)
{
    const int32_t rounding = p->input_left_shift > 0 ? 1 << (p->input_left_shift - 1) : 0;
    int32_t i;
    (void)ctx;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (input[i] * p->input_multiplier + rounding) >> p->input_left_shift;
        const uint32_t magnitude = (uint32_t)(x < 0 ? -x : x);
        const uint32_t index = magnitude >> 9;
        uint32_t result;
        if (index >= 255) {
            result = 0x7FFFu << 10;
        } else {
            const uint32_t low = p->table[index], high = p->table[index + 1];
            result = (low << 9) + (magnitude & 0x1FFu) * (high - low);
        }
        result = x >= 0 ? result + (1u << 9) : (1u << (16 + 9)) - result + (1u << 9) - 1u;
        output[i] = (int16_t)(result >> 10);
    }
}
