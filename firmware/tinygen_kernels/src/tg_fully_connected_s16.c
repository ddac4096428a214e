/* tg_fully_connected_s16: 16x8 fully connected, plain C99. Input [rows, K] int16, weights [N, K] int8,
 * output [rows, N] int16 (TFLite's FullyConnected for int16: zero points 0, int64 accumulator). */
#include "tg_s16.h"

void tg_fully_connected_s16(const tg_context *ctx, const tg_fully_connected_s16_params *p,
                            const int16_t *input, int16_t *output)
{
    const int32_t depth = p->input_depth;
    int32_t r, n, k;
    (void)ctx;
    for (r = 0; r < p->rows; ++r) {
        const int16_t *row = input + r * depth;
        for (n = 0; n < p->output_depth; ++n) {
            const int8_t *w = p->weights + n * depth;
            const int32_t q = p->per_channel ? n : 0;
            int64_t acc = p->bias ? p->bias[n] : 0;
            int64_t out;
            for (k = 0; k < depth; ++k) {
                acc += (int32_t)(w[k] * row[k]); /* |w x| < 2^22; one SMLAL on Cortex-M */
            }
            out = tg_requantize_s64(acc, p->multiplier[q], p->shift[q]);
            output[r * p->output_depth + n] = (int16_t)TG_CLAMP(out, p->activation_min, p->activation_max);
        }
    }
}
