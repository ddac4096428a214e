/* tg_lstm_s8: ONNX LSTM over a whole sequence in TFLite's integer LSTM arithmetic (formats and bounds:
 * tg_recurrent.h), plain C99. Mirrored by tinygen/ops/lstm.py LstmOp.reference. Per direction, per step:
 * the gates' pre-activations from x_t and h_{t-1} (two int8 matrix-vector products), sigmoid / tanh by
 * table, the int16 cell update, h_t to int8. The state lives in the scratch (the model's arena). */
#include "internal/tg_rnn.h"

int32_t tg_lstm_s8_get_buffer_size(const tg_lstm_params *params)
{
    return 2 * (params->input_size + 6 * params->hidden_size);
}

void tg_lstm_s8(const tg_context *ctx, const tg_lstm_params *p, const int8_t *input, int8_t *y, int8_t *y_h,
                int8_t *y_c)
{
    const int32_t size = p->input_size, hidden = p->hidden_size, rows = 4 * hidden, bits = p->cell_bits;
    int16_t *xv = (int16_t *)ctx->buf; /* x_t - zp_x [I] */
    int16_t *hv = xv + size;           /* h_{t-1} - zp_h [H] */
    int16_t *gates = hv + hidden;      /* pre-activations i, o, f, c [4 H], Q3.12 */
    int16_t *cell = gates + rows;      /* c [H] */
    int32_t d, s, j;
    for (d = 0; d < p->directions; ++d) {
        const int32_t reverse = p->directions == 2 ? d : p->reverse;
        const int8_t *wx = p->weights_x + d * rows * size, *wh = p->weights_h + d * rows * hidden;
        const int32_t first = d * rows;
        for (j = 0; j < hidden; ++j) {
            hv[j] = (int16_t)(p->initial_h[d * hidden + j] - p->hidden_zero_point);
            cell[j] = p->initial_c[d * hidden + j];
        }
        for (s = 0; s < p->steps; ++s) {
            const int32_t t = reverse ? p->steps - 1 - s : s;
            for (j = 0; j < size; ++j) {
                xv[j] = (int16_t)(input[t * size + j] + p->input_offset);
            }
            tg_rnn_gates(gates, wx, p->bias_x + first, p->multiplier_x + first, p->shift_x + first, xv, rows, size,
                         0);
            tg_rnn_gates(gates, wh, p->bias_h + first, p->multiplier_h + first, p->shift_h + first, hv, rows,
                         hidden, 1);
            for (j = 0; j < hidden; ++j) {
                const int32_t i = tg_rnn_lookup(p->sigmoid_table, TG_CLAMP(gates[j], -p->clip, p->clip));
                const int32_t o = tg_rnn_lookup(p->sigmoid_table, TG_CLAMP(gates[hidden + j], -p->clip, p->clip));
                const int32_t f = tg_rnn_lookup(p->sigmoid_table, TG_CLAMP(gates[2 * hidden + j], -p->clip, p->clip));
                const int32_t g = tg_rnn_lookup(p->tanh_table, TG_CLAMP(gates[3 * hidden + j], -p->clip, p->clip));
                /* f * c and i * g are below 2^30 in magnitude; their rounded sum below 2^16 */
                const int32_t c = tg_rnn_clamp16((int64_t)tg_rnn_round_shift(f * cell[j], 15) +
                                                 tg_rnn_round_shift(i * g, 15 + bits));
                const int32_t tanh_c = tg_rnn_lookup(p->tanh_table, tg_rnn_cell_to_gate(c, bits));
                const int64_t h =
                    p->hidden_zero_point + tg_rnn_scale(o * tanh_c, p->hidden_multiplier, p->hidden_shift);
                const int32_t h8 = (int32_t)TG_CLAMP(h, -128, 127);
                cell[j] = (int16_t)c;
                hv[j] = (int16_t)(h8 - p->hidden_zero_point); /* the gates of this step are computed: safe */
                if (y) {
                    y[t * p->y_step_stride + d * p->y_direction_stride + j * p->y_unit_stride] = (int8_t)h8;
                }
            }
        }
        for (j = 0; j < hidden; ++j) {
            if (y_h) {
                y_h[d * hidden + j] = (int8_t)(hv[j] + p->hidden_zero_point);
            }
            if (y_c) {
                const int64_t c = p->cell_zero_point + tg_rnn_scale(cell[j], p->cell_multiplier, p->cell_shift);
                y_c[d * hidden + j] = (int8_t)TG_CLAMP(c, -128, 127);
            }
        }
    }
}
