/* tg_fully_connected_s8: plain C99 reference. Input [rows, K], weights [N, K], output [rows, N]. */
#include "tg_fully_connected.h"
#include "tg_requant.h"

int32_t tg_fully_connected_s8_get_buffer_size(const tg_fully_connected_params *params)
{
    (void)params;
    return 0;
}

void tg_fully_connected_s8(const tg_context *ctx, const tg_fully_connected_params *p,
                           const int8_t *input, int8_t *output)
{
    const int32_t depth = p->input_depth;
    int32_t r, n, k;
    (void)ctx;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *row = input + r * depth;
        for (n = 0; n < p->output_depth; ++n) {
            const int8_t *w = p->weights + n * depth;
            const int32_t q = p->per_channel ? n : 0;
            int32_t acc = p->bias ? p->bias[n] : 0;
            for (k = 0; k < depth; ++k) {
                acc += w[k] * (row[k] + p->input_offset);
            }
            acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
            output[r * p->output_depth + n] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
        }
    }
}
