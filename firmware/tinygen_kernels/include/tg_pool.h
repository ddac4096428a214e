/* tinygen kernel library: max and average pooling. */
#ifndef TG_POOL_H
#define TG_POOL_H

#include "tg_types.h"

typedef struct {
    tg_dims input;      /* [1, H, W, C] */
    tg_dims output;     /* [1, OH, OW, C] */
    tg_hw kernel;       /* KH, KW >= 1 */
    tg_hw stride;       /* >= 1 */
    tg_hw dilation;     /* >= 1 */
    tg_padding padding; /* >= 0; top/left place the windows, bottom/right only bound count_include_pad */
    /* average pooling only (max pooling keeps the input's quantization and ignores these): */
    int32_t count_include_pad; /* 1: padded taps count, as the input zero point (ONNX semantics); 0: not */
    int32_t input_zero_point;  /* in [-128, 127] */
    int32_t rescale;           /* 1: requantize the sum (before dividing) to other output parameters; 0: keep */
    int32_t multiplier;        /* s_in / s_out when rescale: 0 or in [2^30, 2^31) */
    int32_t shift;             /* in [-31, 30] */
    int32_t output_offset;     /* output zero point, in [-128, 127], used when rescale or mean */
    /* 1: TFLM's integer MEAN instead (float models' pools, TFLite MEAN): zp_out + requantize(sum(q - zp_in),
     * multiplier * 2^sh / n, shift - sh), sh = min(floor(log2 n), 32, 31 + shift), multiplier/shift = s_in / s_out,
     * n = the taps counted; rescale is then 0. Last, so initializers that leave it out mean 0. */
    int32_t mean;
} tg_pool_params;

/* Max over the taps inside the input (padding never wins). Output quantization = input's. */
void tg_max_pool_s8(const tg_context *ctx, const tg_pool_params *params, const int8_t *input, int8_t *output);

/* TFLite AVERAGE_POOL_2D: round_half_away(sum of raw values / count), then the optional rescale;
 * or with mean, TFLM's MEAN (one requantization of the sum). */
void tg_avg_pool_s8(const tg_context *ctx, const tg_pool_params *params, const int8_t *input, int8_t *output);

/* Cortex-M DSP variant of tg_avg_pool_s8, bit-exact with it (its fallback without the DSP extension). */
void tg_avg_pool_fast_s8(const tg_context *ctx, const tg_pool_params *params, const int8_t *input,
                         int8_t *output);

#endif /* TG_POOL_H */
