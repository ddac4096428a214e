/* tinygen kernel library, internal: the fixed-point steps tg_lstm_s8 and tg_gru_s8 share (number formats
 * and bounds: tg_recurrent.h). Each mirrors a function of tinygen/ops/recurrent.py (or ops/lstm.py). */
#ifndef TG_RNN_H
#define TG_RNN_H

#include "tg_recurrent.h"
#include "tg_requant.h"

#define TG_RNN_INT16_MIN (-32768)
#define TG_RNN_INT16_MAX 32767

/* round(x * multiplier * 2^(shift - 31)), ties toward +infinity, one rounding in 64 bits (scale_rounded):
 * |x| < 2^31 and multiplier < 2^31 keep |x * multiplier| + 2^61 below 2^63; shift in [-31, 30] keeps the
 * shift in [1, 62]. Not saturated: callers clamp. */
TG_INLINE int64_t tg_rnn_scale(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t n = 31 - shift;
    return ((int64_t)x * (int64_t)multiplier + ((int64_t)1 << (n - 1))) >> n;
}

/* round(x / 2^n), ties toward +infinity, n >= 1 (round_shift); |x| < 2^31 - 2^(n-1). */
TG_INLINE int32_t tg_rnn_round_shift(int32_t x, int32_t n)
{
    return (x + (1 << (n - 1))) >> n;
}

TG_INLINE int32_t tg_rnn_clamp16(int64_t x)
{
    return (int32_t)TG_CLAMP(x, TG_RNN_INT16_MIN, TG_RNN_INT16_MAX);
}

/* f(x) for Q3.12 x from a 513-entry Q0.15 table, interpolated in 7 bits (lookup). */
TG_INLINE int32_t tg_rnn_lookup(const int16_t *table, int32_t x)
{
    const int32_t u = x + 32768;
    const int32_t index = u >> 7, fraction = u & 127;
    const int32_t low = table[index], high = table[index + 1];
    return low + (((high - low) * fraction + 64) >> 7);
}

/* One matrix's share of `rows` gate pre-activations: clamp16(requantize(bias + W v)) stored in out, or with
 * `add` added to out with saturation. v holds the input minus its zero point (|v| <= 255); bias may be NULL
 * (no bias). `tflm` picks the requantization: TFLite's MultiplyByQuantizedMultiplier with its double rounding
 * (tg_requantize; the LSTM, TFLM's fully connected to int16) or one rounding in 64 bits (tg_rnn_scale,
 * gate_part; the GRU). Four rows at a time share each load of v (the sums are exact int32 sums, so the order
 * of the additions does not change them). */
static void tg_rnn_gate_rows(int16_t *out, const int8_t *weights, const int32_t *bias, const int32_t *multiplier,
                             const int8_t *shift, const int16_t *v, int32_t rows, int32_t depth, int32_t add,
                             int32_t tflm)
{
    int32_t row = 0, k, r;
    int32_t acc[4];
    while (row < rows) {
        const int32_t block = rows - row >= 4 ? 4 : 1;
        const int8_t *w = weights + row * depth;
        if (block == 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            if (bias) {
                a0 = bias[row], a1 = bias[row + 1], a2 = bias[row + 2], a3 = bias[row + 3];
            }
            for (k = 0; k < depth; ++k) {
                const int32_t x = v[k];
                a0 += (int32_t)w[k] * x;
                a1 += (int32_t)w[depth + k] * x;
                a2 += (int32_t)w[2 * depth + k] * x;
                a3 += (int32_t)w[3 * depth + k] * x;
            }
            acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
        } else {
            int32_t a0 = bias ? bias[row] : 0;
            for (k = 0; k < depth; ++k) {
                a0 += (int32_t)w[k] * v[k];
            }
            acc[0] = a0;
        }
        for (r = 0; r < block; ++r, ++row) {
            const int32_t part = tflm ? tg_rnn_clamp16(tg_requantize(acc[r], multiplier[row], shift[row]))
                                      : tg_rnn_clamp16(tg_rnn_scale(acc[r], multiplier[row], shift[row]));
            out[row] = (int16_t)(add ? tg_rnn_clamp16((int64_t)out[row] + part) : part);
        }
    }
}

/* The GRU's gate rows (gate_part): one rounding. */
TG_INLINE void tg_rnn_gates(int16_t *out, const int8_t *weights, const int32_t *bias, const int32_t *multiplier,
                            const int8_t *shift, const int16_t *v, int32_t rows, int32_t depth, int32_t add)
{
    tg_rnn_gate_rows(out, weights, bias, multiplier, shift, v, rows, depth, add, 0);
}

#endif /* TG_RNN_H */
