/* tg_depthwise_conv_wrapper_s8: picks the depthwise variant for the parameters: 3x3 kernels with
 * channel multiplier 1, no dilation and at least 4 channels take tg_depthwise_conv_3x3_s8, the others
 * tg_depthwise_conv_fast_s8. (Generated models call the chosen variant directly: the code generator
 * applies this rule at compile time, tinygen/ops/conv.py depthwise_kernel.) */
#include "tg_conv.h"

static int32_t tg_depthwise_is_3x3(const tg_conv_params *p)
{
    return p->filter.h == 3 && p->filter.w == 3 && p->dilation.h == 1 && p->dilation.w == 1 &&
           p->depth_multiplier == 1 && p->output.c >= 4;
}

void tg_depthwise_conv_wrapper_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                                  int8_t *output)
{
    if (tg_depthwise_is_3x3(params)) {
        tg_depthwise_conv_3x3_s8(ctx, params, input, output);
    } else {
        tg_depthwise_conv_fast_s8(ctx, params, input, output);
    }
}

int32_t tg_depthwise_conv_wrapper_s8_get_buffer_size(const tg_conv_params *params)
{
    return tg_depthwise_is_3x3(params) ? tg_depthwise_conv_3x3_s8_get_buffer_size(params)
                                       : tg_depthwise_conv_fast_s8_get_buffer_size(params);
}
