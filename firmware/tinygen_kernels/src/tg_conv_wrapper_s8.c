/* tg_conv_wrapper_s8: picks the convolution variant for the parameters, as CMSIS-NN's wrappers do:
 * 1x1 kernels without padding take tg_conv_1x1_s8, other ungrouped convolutions tg_conv_im2col_s8,
 * grouped ones the plain tg_conv_s8. (Generated models call the chosen variant directly: the code
 * generator applies this rule at compile time, tinygen/ops/conv.py conv_kernel.) */
#include "tg_conv.h"

static int32_t tg_conv_is_1x1(const tg_conv_params *p)
{
    return p->groups == 1 && p->filter.h == 1 && p->filter.w == 1 && p->padding.top == 0 && p->padding.left == 0 &&
           p->padding.bottom == 0 && p->padding.right == 0;
}

void tg_conv_wrapper_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output)
{
    if (tg_conv_is_1x1(params)) {
        tg_conv_1x1_s8(ctx, params, input, output);
    } else if (params->groups == 1) {
        tg_conv_im2col_s8(ctx, params, input, output);
    } else {
        tg_conv_s8(ctx, params, input, output);
    }
}

int32_t tg_conv_wrapper_s8_get_buffer_size(const tg_conv_params *params)
{
    if (tg_conv_is_1x1(params)) {
        return tg_conv_1x1_s8_get_buffer_size(params);
    }
    return params->groups == 1 ? tg_conv_im2col_s8_get_buffer_size(params) : tg_conv_s8_get_buffer_size(params);
}
