/* tg_lstm_s8: an LSTM over a whole sequence in TensorFlow Lite Micro's integer LSTM arithmetic (formats and
 * bounds: tg_lstm_params in tg_recurrent.h), plain C99. Mirrored by tinygen/ops/lstm.py LstmOp.reference. Per
 * direction, per step: the gates' pre-activations from x_t and h_{t-1} (two int8 matrix-vector products to
 * int16), TFLM's int16 sigmoid / tanh, the int16 cell update, h_t, Y_t (and Y_h) to int8. The state lives in the scratch (the
 * model's arena). */
#include <stddef.h>

#include "internal/tg_rnn.h"

TG_INLINE int32_t tg_lstm_sat16(int32_t x)
{
    return TG_CLAMP(x, TG_RNN_INT16_MIN, TG_RNN_INT16_MAX);
}

/* TFLM's int16 Logistic of a Q3.12 value: Q0.15 in [0, 32767] (lstm.py sigmoid16). */
TG_INLINE int32_t tg_lstm_sigmoid(const uint16_t *table, int32_t x)
{
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t index = a >> 9;
    uint32_t r = 0x7FFFu << 10; /* saturated */
    if (index < 255u) {
        r = ((uint32_t)table[index] << 9) + (a & 0x1FFu) * (uint32_t)(table[index + 1u] - table[index]);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int32_t)(r >> 10);
}

/* TFLM's int16 Tanh of its rescaled input v (|v| < 2^29): Q0.15 in [-32767, 32767] (lstm.py tanh16). The
 * interpolated value is below 2^24; the right shift of a negative result is arithmetic (GCC, Clang). */
TG_INLINE int32_t tg_lstm_tanh(const uint16_t *table, int32_t v)
{
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t index = a >> 8;
    int32_t r = 0xFFFF << 8; /* saturated */
    if (index < 255u) {
        r = (int32_t)(((uint32_t)table[index] << 8) + (a & 0xFFu) * (uint32_t)(table[index + 1u] - table[index]));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return r >> 8;
}

/* tanh(c) o (Q0.30, |.| <= 2^30) as int8 in one set of parameters: clamp8(zp + MBQM(product, 2^-30 / s))
 * (lstm.py _round8): the hidden state's, Y's and Y_h's each round the same product once. */
TG_INLINE int32_t tg_lstm_round8(int32_t product, int32_t multiplier, int32_t shift, int32_t zero_point)
{
    const int64_t q = (int64_t)zero_point + tg_requantize(product, multiplier, shift);
    return (int32_t)TG_CLAMP(q, -128, 127);
}

int32_t tg_lstm_s8_get_buffer_size(const tg_lstm_params *params)
{
    return 2 * (params->input_size + 6 * params->hidden_size);
}

void tg_lstm_s8(const tg_context *ctx, const tg_lstm_params *p, const int8_t *input, int8_t *y, int8_t *y_h,
                int8_t *y_c)
{
    const int32_t size = p->input_size, hidden = p->hidden_size, rows = 4 * hidden;
    /* The parameters the inner loop reads, in locals: its int8 stores to Y may alias the struct for the compiler */
    const int32_t gate_clip = p->gate_clip, cell_clip = p->cell_clip, zp = p->hidden_zero_point;
    const int32_t forget_multiplier = p->forget_multiplier, forget_shift = p->forget_shift;
    const int32_t input_multiplier = p->input_multiplier, input_shift = p->input_shift;
    const int32_t hidden_multiplier = p->hidden_multiplier, hidden_shift = p->hidden_shift;
    const int32_t y_multiplier = p->y_multiplier, y_shift = p->y_shift, y_zero_point = p->y_zero_point;
    const int32_t tanh_multiplier = p->tanh_multiplier, tanh_shift = p->tanh_shift;
    const int32_t tanh_round = tanh_shift > 0 ? 1 << (tanh_shift - 1) : 0;
    const int32_t unit_stride = p->y_unit_stride;
    const uint16_t *table = p->sigmoid_table;
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
            hv[j] = (int16_t)(p->initial_h[d * hidden + j] - zp);
            cell[j] = p->initial_c[d * hidden + j];
        }
        for (s = 0; s < p->steps; ++s) {
            const int32_t t = reverse ? p->steps - 1 - s : s;
            int8_t *y_t = y ? y + t * p->y_step_stride + d * p->y_direction_stride : NULL;
            for (j = 0; j < size; ++j) {
                xv[j] = (int16_t)(input[t * size + j] + p->input_offset);
            }
            /* TFLM's two fully connected layers to int16 and their saturating sum */
            tg_rnn_gate_rows(gates, wx, p->bias_x + first, p->multiplier_x + first, p->shift_x + first, xv, rows,
                             size, 0, 1);
            tg_rnn_gate_rows(gates, wh, p->bias_h ? p->bias_h + first : NULL, p->multiplier_h + first,
                             p->shift_h + first, hv, rows, hidden, 1, 1);
            for (j = 0; j < hidden; ++j) {
                const int32_t i = tg_lstm_sigmoid(table, TG_CLAMP(gates[j], -gate_clip, gate_clip));
                const int32_t o = tg_lstm_sigmoid(table, TG_CLAMP(gates[hidden + j], -gate_clip, gate_clip));
                const int32_t f = tg_lstm_sigmoid(table, TG_CLAMP(gates[2 * hidden + j], -gate_clip, gate_clip));
                const int32_t g = tg_lstm_tanh(table, 3 * TG_CLAMP(gates[3 * hidden + j], -gate_clip, gate_clip));
                /* |f * c| and |i * g| are at most 2^30 */
                const int32_t kept = tg_lstm_sat16(tg_requantize(f * cell[j], forget_multiplier, forget_shift));
                const int32_t added = tg_lstm_sat16(tg_requantize(i * g, input_multiplier, input_shift));
                const int32_t c = TG_CLAMP(tg_lstm_sat16(kept + added), -cell_clip, cell_clip);
                /* the cell to the Tanh input; |c * tanh_multiplier| < 2^29 (tg_lstm_params) */
                const int32_t tanh_c = tg_lstm_tanh(table, (c * tanh_multiplier + tanh_round) >> tanh_shift);
                const int32_t product = tanh_c * o; /* |.| <= 2^30 */
                const int32_t h8 = tg_lstm_round8(product, hidden_multiplier, hidden_shift, zp);
                cell[j] = (int16_t)c;
                hv[j] = (int16_t)(h8 - zp); /* the gates of this step are computed: safe */
                if (y_t) {
                    y_t[j * unit_stride] = (int8_t)tg_lstm_round8(product, y_multiplier, y_shift, y_zero_point);
                }
                if (y_h && s == p->steps - 1) {
                    y_h[d * hidden + j] =
                        (int8_t)tg_lstm_round8(product, p->y_h_multiplier, p->y_h_shift, p->y_h_zero_point);
                }
            }
        }
        for (j = 0; y_c && j < hidden; ++j) {
            const int64_t c = (int64_t)p->cell_zero_point + tg_requantize(cell[j], p->cell_multiplier, p->cell_shift);
            y_c[d * hidden + j] = (int8_t)TG_CLAMP(c, -128, 127);
        }
    }
}
