/* tinygen kernel library: max and average pooling. */
#ifndef TG_POOL_H
#define TG_POOL_H

#include "tg_types.h"

typedef struct {
    tg_dims input;  /* [1, H, W, C] */
    tg_dims output; /* [1, OH, OW, C] */
    tg_hw kernel;
    tg_hw stride;
    tg_hw dilation;
    tg_padding padding;
    /* average pooling only: */
    int32_t count_include_pad; /* 1: padded taps count, as the input zero point (ONNX semantics) */
    int32_t input_zero_point;
    int32_t rescale;    /* 1: requantize the average to different output parameters */
    int32_t multiplier; /* s_in / s_out, used when rescale */
    int32_t shift;
    int32_t output_offset;
} tg_pool_params;

/* Max over the taps inside the input (padding never wins). Output quantization = input's. */
void tg_max_pool_s8(const tg_context *ctx, const tg_pool_params *params, const int8_t *input, int8_t *output);

/* TFLite AVERAGE_POOL_2D: round_half_away(sum of raw values / count). */
void tg_avg_pool_s8(const tg_context *ctx, const tg_pool_params *params, const int8_t *input, int8_t *output);

/* Cortex-M DSP variant of tg_avg_pool_s8, bit-exact with it (its fallback without the DSP extension). */
void tg_avg_pool_fast_s8(const tg_context *ctx, const tg_pool_params *params, const int8_t *input,
                         int8_t *output);

#endif /* TG_POOL_H */
