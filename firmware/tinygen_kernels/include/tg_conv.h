/* tinygen kernel library: convolutions (standard, grouped, depthwise). */
#ifndef TG_CONV_H
#define TG_CONV_H

#include "tg_types.h"

typedef struct {
    tg_dims input;       /* [1, H, W, C_in] */
    tg_dims filter;      /* standard/grouped: [C_out, KH, KW, C_in / groups]; depthwise: [1, KH, KW, C_out] */
    tg_dims output;      /* [1, OH, OW, C_out] */
    tg_hw stride;
    tg_hw dilation;
    tg_padding padding;  /* kernels use top/left; bottom/right are implied by the output size */
    int32_t groups;      /* standard: 1; grouped: C_in / groups input channels per group */
    int32_t depth_multiplier; /* depthwise only: C_out = C_in * depth_multiplier */
    int32_t input_offset;     /* -input zero point, in [-127, 128] */
    int32_t output_offset;    /* output zero point, in [-128, 127] */
    int32_t activation_min;   /* fused activation clamp, in [-128, 127] */
    int32_t activation_max;
    const int8_t *weights;    /* symmetric int8, layout as `filter` */
    const int32_t *bias;      /* [C_out], scale input_scale * weight_scale[c] */
    const int32_t *multiplier; /* requantization, [C_out] if per_channel else [1] */
    const int32_t *shift;
    int32_t per_channel;
} tg_conv_params;

/* out[y, x, c] = clamp(output_offset + requant_c(bias[c] + sum w * (in + input_offset)))
 * Accumulators are int32: |w| <= 128 and |in + input_offset| <= 255, so any
 * filter volume up to 65,000 products cannot overflow (the compiler checks the exact bound). */
void tg_conv_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output);
int32_t tg_conv_s8_get_buffer_size(const tg_conv_params *params);

void tg_depthwise_conv_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                          int8_t *output);
int32_t tg_depthwise_conv_s8_get_buffer_size(const tg_conv_params *params);

#endif /* TG_CONV_H */
