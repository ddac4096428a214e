/* tinygen kernel library: fully connected (matrix times vector, per row of the input). */
#ifndef TG_FULLY_CONNECTED_H
#define TG_FULLY_CONNECTED_H

#include "tg_types.h"

/* Input [rows, K] and output [rows, N], row-major (a feature map's pixels are rows). */
typedef struct {
    int32_t rows;              /* >= 1: independent input rows (batch, tokens) */
    int32_t input_depth;       /* K >= 1: values per input row */
    int32_t output_depth;      /* N >= 1: values per output row */
    int32_t input_offset;      /* -input zero point, in [-127, 128] */
    int32_t output_offset;     /* output zero point, in [-128, 127] */
    int32_t activation_min;    /* fused activation clamp, in [-128, 127] */
    int32_t activation_max;    /* in [activation_min, 127] */
    const int8_t *weights;     /* [N, K] row-major, symmetric int8 (tg_fully_connected_direct_s8: interleaved,
                                  below) */
    const int32_t *bias;       /* [N], scale input_scale * weight_scale[n], or NULL */
    const int32_t *multiplier; /* [N] if per_channel else [1]; each 0 or in [2^30, 2^31) */
    const int8_t *shift;       /* as multiplier, each in [-31, 30] */
    int32_t per_channel;       /* 1: one (multiplier, shift) per output value; 0: one for all */
    int32_t accumulator_bits;  /* |accumulator| < 2^accumulator_bits for every input, in every channel
                                  with a shift in [-23, -1] (the DSP variants requantize those with a
                                  shorter exact form when it is <= 29; tg_dsp.h) */
} tg_fully_connected_params;

/* out[r, n] = clamp(output_offset + requant_n(bias[n] + sum_k w[n, k] * (in[r, k] + input_offset))) */
void tg_fully_connected_s8(const tg_context *ctx, const tg_fully_connected_params *params,
                           const int8_t *input, int8_t *output);
int32_t tg_fully_connected_s8_get_buffer_size(const tg_fully_connected_params *params);

/* Cortex-M DSP variants, bit-exact with tg_fully_connected_s8 (their fallback where the core has no DSP
 * extension or the layer is not theirs: their assembly takes per-tensor and per-channel layers whose every
 * channel has the short requantization -- shift in [-23, -1], accumulator_bits <= 29 -- and the full
 * int8 clamp). Scratch: their _get_buffer_size bytes.
 *   tg_fully_connected_fast_s8   K a multiple of 8
 *   tg_fully_connected_wide_s8   K a multiple of 128 (unrolled 16 times deeper)
 * The code generator picks one at compile time (tinygen/ops/fully_connected.py). */
void tg_fully_connected_fast_s8(const tg_context *ctx, const tg_fully_connected_params *params,
                                const int8_t *input, int8_t *output);
int32_t tg_fully_connected_fast_s8_get_buffer_size(const tg_fully_connected_params *params);
void tg_fully_connected_wide_s8(const tg_context *ctx, const tg_fully_connected_params *params,
                                const int8_t *input, int8_t *output);
int32_t tg_fully_connected_wide_s8_get_buffer_size(const tg_fully_connected_params *params);

/* Without scratch (the code generator's choice where a layer's widened input row would raise the arena):
 * the weights interleaved in blocks of 4 output rows x 4 inputs -- block (n / 4, k / 4) at
 * ((n / 4) * K / 4 + k / 4) * 16, row n % 4 at 4 * (n % 4), input k % 4 within it -- and the last N % 4
 * rows row-major after the blocks. K a multiple of 4 (the interleaving); any rows. */
void tg_fully_connected_direct_s8(const tg_context *ctx, const tg_fully_connected_params *params,
                                  const int8_t *input, int8_t *output);
int32_t tg_fully_connected_direct_s8_get_buffer_size(const tg_fully_connected_params *params);

#endif /* TG_FULLY_CONNECTED_H */
