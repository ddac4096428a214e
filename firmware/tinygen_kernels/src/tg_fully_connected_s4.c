/* tg_fully_connected_s4: fully connected with 4-bit weights, plain C99 (tg_s4.h).
 * Input [rows, K], weights [N, K] int4 packed two per byte, output [rows, N]. */
#include "tg_s4.h"
#include "internal/tg_s4_unpack.h"

int32_t tg_fully_connected_s4_get_buffer_size(const tg_fully_connected_params *params)
{
    (void)params;
    return 0;
}

void tg_fully_connected_s4(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                           int8_t *output)
{
    const int32_t depth = p->input_depth;
    int32_t r, n;
    (void)ctx;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *row = input + r * depth;
        for (n = 0; n < p->output_depth; ++n) {
            const int32_t q = p->per_channel ? n : 0;
            int32_t acc = p->bias ? p->bias[n] : 0;
            acc += tg_s4_dot(p->weights, n * depth, row, depth, p->input_offset);
            acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
            output[r * p->output_depth + n] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
        }
    }
}
