/* tg_conv_add_s8: a convolution fused with the residual Add that consumes it (tg_conv.h), plain C99:
 * each output pixel's convolution outputs (tg_conv_s8_pixel) into the scratch buffer, then the Add of
 * each with the residual value at its place. Equals tg_conv_s8 followed by tg_add_s8. */
#include "tg_conv.h"
#include "tg_elementwise.h"

int32_t tg_conv_add_s8_get_buffer_size(const tg_conv_add_params *params)
{
    return params->conv.output.c; /* one output pixel */
}

TG_FALLBACK void tg_conv_add_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                                const int8_t *residual, int8_t *output)
{
    const tg_conv_params *p = &params->conv;
    int8_t *pixel = (int8_t *)ctx->buf;
    int32_t oy, ox, oc;
    for (oy = 0; oy < p->output.h; ++oy) {
        for (ox = 0; ox < p->output.w; ++ox) {
            tg_conv_s8_pixel(p, input, oy, ox, pixel);
            for (oc = 0; oc < p->output.c; ++oc, ++residual) {
                *output++ = params->conv_first ? tg_add_element(&params->add, pixel[oc], *residual)
                                               : tg_add_element(&params->add, *residual, pixel[oc]);
            }
        }
    }
}
