/* tg_gru_s8: ONNX GRU over a whole sequence in the integer scheme of tg_lstm_s8 (formats and bounds:
 * tg_recurrent.h), plain C99. Mirrored by tinygen/ops/gru.py GruOp.reference. Per direction, per step:
 * z and r from x_t and h_{t-1}, the candidate n with the reset gate before or after R, then the Q0.15 state
 * h = n + z (h - n), its int8 copy h8 (read by R) and the outputs Y, Y_h, each rounded from the Q0.15 state
 * with its own parameters. The state lives in the scratch (the model's arena). */
#include "internal/tg_rnn.h"

/* The Q0.15 state (|state| < 2^15) as int8 with one set of parameters: clamp8(zp + round(state 2^-15 / s)). */
static int32_t tg_gru_round(int32_t state, int32_t multiplier, int32_t shift, int32_t zero_point)
{
    const int64_t q = zero_point + tg_rnn_scale(state, multiplier, shift);
    return (int32_t)TG_CLAMP(q, -128, 127);
}

int32_t tg_gru_s8_get_buffer_size(const tg_gru_params *params)
{
    return 2 * (params->input_size + 6 * params->hidden_size);
}

void tg_gru_s8(const tg_context *ctx, const tg_gru_params *p, const int8_t *input, int8_t *y, int8_t *y_h)
{
    const int32_t size = p->input_size, hidden = p->hidden_size, rows = 3 * hidden;
    int16_t *xv = (int16_t *)ctx->buf; /* x_t - zp_x [I] */
    int16_t *hv = xv + size;           /* h_{t-1} - zp_h [H] (int8 state) */
    int16_t *gates = hv + hidden;      /* z, r (pre-activations, then activations), n [3 H] */
    int16_t *nh = gates + rows;        /* lbr 0: r * (h - zp_h); lbr 1: R h + Rb in Q3.12 [H] */
    int16_t *state = nh + hidden;      /* h_{t-1} in Q0.15 [H] */
    int32_t d, s, j;
    for (d = 0; d < p->directions; ++d) {
        const int32_t reverse = p->directions == 2 ? d : p->reverse;
        const int8_t *wx = p->weights_x + d * rows * size, *wh = p->weights_h + d * rows * hidden;
        const int32_t first = d * rows, candidate = first + 2 * hidden;
        for (j = 0; j < hidden; ++j) {
            hv[j] = (int16_t)(p->initial_h[d * hidden + j] - p->hidden_zero_point);
            state[j] = p->initial_state[d * hidden + j];
        }
        for (s = 0; s < p->steps; ++s) {
            const int32_t t = reverse ? p->steps - 1 - s : s;
            for (j = 0; j < size; ++j) {
                xv[j] = (int16_t)(input[t * size + j] + p->input_offset);
            }
            tg_rnn_gates(gates, wx, p->bias_x + first, p->multiplier_x + first, p->shift_x + first, xv, rows, size,
                         0);
            tg_rnn_gates(gates, wh, p->bias_h + first, p->multiplier_h + first, p->shift_h + first, hv,
                         2 * hidden, hidden, 1);
            for (j = 0; j < 2 * hidden; ++j) {
                gates[j] = (int16_t)tg_rnn_lookup(p->sigmoid_table, TG_CLAMP(gates[j], -p->clip, p->clip));
            }
            if (p->linear_before_reset) {
                tg_rnn_gates(nh, wh + 2 * hidden * hidden, p->bias_h + candidate, p->multiplier_h + candidate,
                             p->shift_h + candidate, hv, hidden, hidden, 0);
                for (j = 0; j < hidden; ++j) {
                    const int32_t reset = tg_rnn_round_shift(gates[hidden + j] * nh[j], 15);
                    gates[2 * hidden + j] = (int16_t)tg_rnn_clamp16((int64_t)gates[2 * hidden + j] + reset);
                }
            } else {
                for (j = 0; j < hidden; ++j) {
                    nh[j] = (int16_t)tg_rnn_round_shift(gates[hidden + j] * hv[j], 15);
                }
                tg_rnn_gates(gates + 2 * hidden, wh + 2 * hidden * hidden, p->bias_h + candidate,
                             p->multiplier_h + candidate, p->shift_h + candidate, nh, hidden, hidden, 1);
            }
            for (j = 0; j < hidden; ++j) {
                const int32_t n = tg_rnn_lookup(p->tanh_table, TG_CLAMP(gates[2 * hidden + j], -p->clip, p->clip));
                /* |z (h - n)| < 2^15 * 2^16 */
                const int32_t h = tg_rnn_clamp16((int64_t)n + tg_rnn_round_shift(gates[j] * (state[j] - n), 15));
                const int32_t h8 = tg_gru_round(h, p->hidden_multiplier, p->hidden_shift, p->hidden_zero_point);
                state[j] = (int16_t)h;
                hv[j] = (int16_t)(h8 - p->hidden_zero_point);
                if (y) {
                    y[t * p->y_step_stride + d * p->y_direction_stride + j * p->y_unit_stride] =
                        (int8_t)tg_gru_round(h, p->y_multiplier, p->y_shift, p->y_zero_point);
                }
            }
        }
        if (y_h) {
            for (j = 0; j < hidden; ++j) {
                const int32_t final_h = state[j];
                y_h[d * hidden + j] = (int8_t)tg_gru_round(final_h, p->y_h_multiplier, p->y_h_shift, p->y_h_zero_point);
            }
        }
    }
}
