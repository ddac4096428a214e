/* tinygen kernel library: recurrent layers (ONNX LSTM and GRU, TFLite UNIDIRECTIONAL_SEQUENCE_LSTM) over a
 * whole sequence. The loop over time steps runs here; the state lives in the kernel's scratch (planned in the
 * model's arena). Mirrored by tinygen/ops/recurrent.py, lstm.py and gru.py.
 *
 * The LSTM is TensorFlow Lite Micro's integer LSTM ("8x8_16", lstm_eval) operation for operation; its
 * formats and bounds are documented at tg_lstm_params. The GRU keeps tinygen's own scheme in the same manner:
 *   x, h          int8, per-tensor affine (real = s * (q - zp)); the hidden state takes the output Y's
 *                 parameters, so h_t is written to Y as it is.
 *   weights       int8 symmetric, one scale per gate row (per output unit and gate): rows of a gate
 *                 matrix W [D * G * H, I] and R [D * G * H, H], directions one after the other, gates in
 *                 ONNX's order (GRU z, r, h), row-major.
 *   accumulators  int32: bias + sum w * (q - zp). |w| <= 127, |q - zp| <= 255 and depth <= 8192 bound the
 *                 products by 2^28; the compiler keeps |bias| below 2^31 - 127 * 255 * depth (it raises a
 *                 row's weight scale where a bias would need more), so the sum never overflows.
 *   pre-activations  int16 Q3.12 (|x| < 8, step 2^-12): each matrix's accumulator is scaled by its row's
 *                 multiplier (s_in * s_w * 2^12) with one rounding in 64 bits (tg_rnn_scale, exact for
 *                 any int32 accumulator and multiplier) and clamped to int16 separately, then the two are
 *                 added with saturation (TFLite clamps the same way); then clipped to +-clip (ONNX's clip,
 *                 in Q3.12, 32767 when absent). sigmoid(8) = 1 - 3.4e-4, so the clamp costs < 12 Q0.15 steps.
 *   activations   int16 Q0.15 (sigmoid in [0, 32767], tanh in [-32768, 32767]): a 513-entry table over
 *                 the Q3.12 range (one entry every 1/32, rounded to Q0.15) with linear interpolation in
 *                 7 bits; the interpolation error is below 3 Q0.15 steps for tanh, 1 for sigmoid.
 *   GRU state     int16 Q0.15 kept beside int8 h: h_t = n + z (h_{t-1} - n) is computed on the Q0.15 state
 *                 (|z (h - n)| < 2^15 * 2^16 = 2^31), and the int8 copy (scale: the state's range over all
 *                 steps) feeds R only; Y and Y_h are each rounded once from the Q0.15 state with their own
 *                 parameters (Y_h's range is the final states', often narrower).
 *   outputs       int8: zp_Y + round(state * 2^-15 / s_Y) (Y_h alike).
 * Rounding: every rounding shift rounds ties toward +infinity, (x + 2^(n-1)) >> n.
 */
#ifndef TG_RECURRENT_H
#define TG_RECURRENT_H

#include "tg_types.h"

/* LSTM, batch 1, in TFLite Micro's integer arithmetic (its lstm_eval: EvalLstm / LstmStep for int8
 * activations, int8 weights, int16 cell state), each step a sequence of TFLM's reference operations:
 *   gates     per gate row (gates i, o, f, c in ONNX's order), two int8 fully connected layers to int16:
 *             sat16(MBQM(bias_x + W (x_t - zp_x), multiplier_x)) and sat16(MBQM(bias_h + R (h_{t-1} - zp_h),
 *             multiplier_h)), each multiplier s_in * s_w / 2^-12 (the pre-activation in Q3.12), added with
 *             saturation (TFLM's AddElementWise). MBQM is TFLite's MultiplyByQuantizedMultiplier with its
 *             double rounding (tg_requantize). Accumulators: the compiler checks |bias| + 128 * 255 * depth
 *             < 2^31 (a .tflite file) or keeps it there (an ONNX model, tg_recurrent.h above), so int32 sums
 *             never overflow. Then clamped to +-gate_clip (ONNX's clip; 32767, no effect, otherwise).
 *   sigmoid   TFLM's int16 Logistic (input multiplier 0): v = 3 x (|v| < 2^17), |v| >> 9 indexes TFLite's
 *             256-entry sigmoid(i / 24) table in unsigned Q0.16 (sigmoid_table), the low 9 bits interpolate
 *             linearly (< 2^25 in uint32), negative v mirror; Q0.15 out in [0, 32767].
 *   tanh      TFLM's int16 Tanh on v = (x * tanh_multiplier + round) >> tanh_shift: the table at
 *             |v| >> 8 (tanh(x) = 2 sigmoid(2x) - 1), 8 bits interpolated; Q0.15 out in [-32767, 32767].
 *             The cell gate's input is Q3.12 (multiplier 3, shift 0); the cell state's scale 2^p gives
 *             shift s = 12 + p: multiplier 3 << s for s >= 0, else 3 and a rounding right shift -s. With p in
 *             [-30, 0], |c * multiplier| < 2^15 * 3 * 2^12 < 2^29.
 *   cell      int16 with scale s_c (a power of two; 2^(bits - 15) for ONNX models): c = sat16(sat16(MBQM(
 *             f * c, 2^-15)) + sat16(MBQM(i * g, 2^-30 / s_c))) (TFLM's int16 Mul: |f * c|, |i * g| <= 2^30),
 *             then clamped to +-cell_clip (TFLite's cell_clip / s_c, truncated; 32768 when absent).
 *   hidden    h = clamp8(zp_h + MBQM(tanh(c) * o, 2^-30 / s_h)) (TFLM's int16 x int16 -> int8 Mul;
 *             |tanh(c) * o| <= 2^30). Y at step t and Y_h (at the last step) round the same product once
 *             each with their own parameters: clamp8(zp_Y + MBQM(tanh(c) * o, 2^-30 / s_Y)). A .tflite
 *             file's Y has h's parameters (TFLM writes h to it); an ONNX model's h has the range of every
 *             step, Y_h the final states', Y the range of the elements the model reads or the parameters a
 *             QDQ model gives them (one rounding, not a requantization after the layer). Y_c (ONNX) is the final cell requantized by s_c / s_Y_c.
 * Input [steps, input_size] (ONNX X [T, 1, I] or [1, T, I], TFLite [1, T, I]: the same bytes); outputs Y
 * [steps, directions, hidden_size] (at the y_*_stride positions), Y_h and Y_c [directions, hidden_size] (any
 * may be NULL). */
typedef struct {
    int32_t steps;               /* >= 1 */
    int32_t input_size;          /* I, >= 1 */
    int32_t hidden_size;         /* H, >= 1 */
    int32_t directions;          /* 1, or 2 (bidirectional: forward, then reverse) */
    int32_t reverse;             /* 1: the single direction runs from the last step to the first */
    int32_t input_offset;        /* -zp_x, in [-127, 128] */
    int32_t hidden_zero_point;   /* zp_h, in [-128, 127] */
    int32_t gate_clip;           /* bound on the Q3.12 pre-activations, in [1, 32767] */
    int32_t cell_clip;           /* bound on the cell state, in [0, 32768] (32768: none) */
    const int8_t *weights_x;     /* W: [directions * 4 * H, I], gates i, o, f, c */
    const int8_t *weights_h;     /* R: [directions * 4 * H, H] */
    const int32_t *bias_x;       /* W's bias, scale s_x * s_w[row]: [directions * 4 * H] */
    const int32_t *bias_h;       /* R's bias, scale s_h * s_r[row], or NULL (TFLite has none) */
    const int32_t *multiplier_x; /* per row: s_x * s_w * 2^12 as multiplier * 2^(shift - 31), multiplier in [0, 2^31) */
    const int8_t *shift_x;       /* per row, in [-31, 30] */
    const int32_t *multiplier_h; /* per row: s_h * s_r * 2^12 */
    const int8_t *shift_h;
    int32_t forget_multiplier; /* 2^-15: f * c back to the cell's scale */
    int32_t forget_shift;
    int32_t input_multiplier; /* 2^-30 / s_c: i * g to the cell's scale */
    int32_t input_shift;
    int32_t hidden_multiplier; /* 2^-30 / s_h: tanh(c) * o to int8 steps */
    int32_t hidden_shift;      /* in [-31, 30] */
    int32_t y_multiplier;      /* 2^-30 / s_Y: tanh(c) * o to Y's int8 steps (0 when Y is not computed) */
    int32_t y_shift;
    int32_t y_zero_point;
    int32_t y_h_multiplier; /* 2^-30 / s_Y_h (0 when Y_h is not computed) */
    int32_t y_h_shift;
    int32_t y_h_zero_point;
    int32_t tanh_multiplier; /* the cell state to the Tanh input: (c * tanh_multiplier + round) >> tanh_shift */
    int32_t tanh_shift;      /* in [0, 18] */
    int32_t cell_multiplier; /* s_c / s_Y_c (0 when Y_c is not computed) */
    int32_t cell_shift;
    int32_t cell_zero_point;       /* zp of Y_c */
    const int8_t *initial_h;       /* [directions, H], int8 with h's parameters */
    const int16_t *initial_c;      /* [directions, H], in the cell's scale */
    const uint16_t *sigmoid_table; /* 256 entries: TFLite's sigmoid(i / 24) in unsigned Q0.16 */
    int32_t y_step_stride;         /* elements between Y's steps, directions and units: Y is stored as the */
    int32_t y_direction_stride;    /* compiler lays it out ([T, D, 1, H] as a feature map: [T, 1, H, D]) */
    int32_t y_unit_stride;
} tg_lstm_params;

/* Scratch: int16 input [I], hidden [H], gates [4 H] and cell [H] vectors. */
int32_t tg_lstm_s8_get_buffer_size(const tg_lstm_params *params);

/* No in-place use: Y must not overlap the input (every step reads the whole input row of its step, and the
 * reverse direction reads rows the forward one has passed). */
void tg_lstm_s8(const tg_context *ctx, const tg_lstm_params *params, const int8_t *input, int8_t *y,
                int8_t *y_h, int8_t *y_c);

/* ONNX GRU, batch 1: as tg_lstm_params with 3 gates (z, r, h) and no cell. linear_before_reset 0 applies the
 * reset gate to h before R (n = tanh(W x + Wb + R (r * h) + Rb)), 1 after it (n = tanh(W x + Wb + r * (R h
 * + Rb))); r * (h - zp_h) is rounded to int16 (|.| <= 255) before R, r * (R h + Rb) in Q3.12. */
typedef struct {
    int32_t steps;
    int32_t input_size;
    int32_t hidden_size;
    int32_t directions;
    int32_t reverse;
    int32_t input_offset;
    int32_t hidden_zero_point;
    int32_t linear_before_reset; /* 0 or 1 */
    int32_t clip;
    const int8_t *weights_x; /* [directions * 3 * H, I], gates z, r, h */
    const int8_t *weights_h; /* [directions * 3 * H, H] */
    const int32_t *bias_x;
    const int32_t *bias_h;
    const int32_t *multiplier_x;
    const int8_t *shift_x;
    const int32_t *multiplier_h;
    const int8_t *shift_h;
    int32_t hidden_multiplier; /* 2^-15 / s_h: the Q0.15 state to h8's int8 steps (h8 feeds R) */
    int32_t hidden_shift;      /* in [-31, 30] */
    int32_t y_multiplier;      /* 2^-15 / s_Y: the Q0.15 state to Y's int8 steps (0 when Y is NULL) */
    int32_t y_shift;           /* in [-31, 30] */
    int32_t y_zero_point;      /* zp of Y, in [-128, 127] */
    int32_t y_h_multiplier;    /* 2^-15 / s_Y_h, from the final state (0 when Y_h is NULL) */
    int32_t y_h_shift;
    int32_t y_h_zero_point;
    const int8_t *initial_h;      /* [directions, H], int8 with h8's parameters */
    const int16_t *initial_state; /* [directions, H], Q0.15 (|h_0| < 1) */
    const int16_t *sigmoid_table;
    const int16_t *tanh_table;
    int32_t y_step_stride;      /* elements between Y's steps, directions and units: Y is stored as the */
    int32_t y_direction_stride; /* compiler lays it out ([T, D, 1, H] as a feature map: [T, 1, H, D]) */
    int32_t y_unit_stride;
} tg_gru_params;

/* Scratch: int16 input [I], hidden [H], gates [3 H], the reset hidden part [H] and the Q0.15 state [H]. */
int32_t tg_gru_s8_get_buffer_size(const tg_gru_params *params);

/* Outputs Y [steps, directions, H] and Y_h [directions, H], either may be NULL; no in-place use. */
void tg_gru_s8(const tg_context *ctx, const tg_gru_params *params, const int8_t *input, int8_t *y,
               int8_t *y_h);

#endif /* TG_RECURRENT_H */
