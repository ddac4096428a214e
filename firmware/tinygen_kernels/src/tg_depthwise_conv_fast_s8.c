/* tg_depthwise_conv_fast_s8: depthwise convolution, any kernel, stride, dilation, padding and
 * channel multiplier. Must equal tg_depthwise_conv_s8 (the plain C reference), and falls back to it
 * on cores without the DSP extension.
 *
 * DSP: as tg_depthwise_conv_3x3_s8 (4 channels at a time over a ring of widened input rows, padding
 * included), with loops over the taps and the weights widened per tap. */
#include "tg_conv.h"
#include "internal/tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_depthwise_rows.h"
#endif

/* The ring of widened row slots. */
TG_INLINE int32_t tg_dw_fast_slots_bytes(const tg_conv_params *params)
{
    const int32_t slots = (params->filter.h - 1) * params->dilation.h + 1;
    const int32_t width = (params->output.w - 1) * params->stride.w + (params->filter.w - 1) * params->dilation.w + 1;
    return 8 * slots * width;
}

int32_t tg_depthwise_conv_fast_s8_get_buffer_size(const tg_conv_params *params)
{
    /* the row slots, or the fallback's ring of input pixels in place */
    return TG_MAX(tg_dw_fast_slots_bytes(params), tg_depthwise_conv_s8_get_buffer_size(params));
}

void tg_depthwise_conv_fast_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t out_h = p->output.h, out_w = p->output.w, channels = p->output.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t step = 2 * p->dilation.w; /* words between the taps of a row */
    tg_depthwise_rows rows;
    int32_t c0, oy, ox, ky, kx;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < tg_dw_fast_slots_bytes(p)) {
        tg_depthwise_conv_s8(ctx, p, input, output);
        return;
    }
    tg_depthwise_rows_init(&rows, p, (uint32_t *)ctx->buf);
    for (c0 = 0; c0 < channels; c0 += 4) {
        tg_depthwise_group_begin(&rows, p, c0);
        tg_depthwise_group_requant(&rows, p);
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy = oy * p->stride.h - p->padding.top;
            int8_t *out = output + oy * out_w * channels + c0;
            for (ox = 0; ox < out_w; ++ox, out += channels) {
                int32_t acc[4];
                acc[0] = rows.bias[0];
                acc[1] = rows.bias[1];
                acc[2] = rows.bias[2];
                acc[3] = rows.bias[3];
                for (ky = 0; ky < k_h; ++ky) {
                    const uint32_t *x =
                        tg_depthwise_row(&rows, p, input, iy + ky * p->dilation.h) + 2 * ox * p->stride.w;
                    const int8_t *w = p->weights + ky * k_w * channels + c0;
                    for (kx = 0; kx < k_w; ++kx, x += step, w += channels) {
                        const uint32_t raw = rows.lanes == 4 ? tg_read_u32(w) : tg_dsp_read_partial(w, rows.lanes, 0);
                        const uint32_t we = tg_sxtb16(raw), wo = tg_sxtb16_ror8(raw);
                        acc[0] = tg_smlabb(we, x[0], acc[0]);
                        acc[2] = tg_smlatt(we, x[0], acc[2]);
                        acc[1] = tg_smlabb(wo, x[1], acc[1]);
                        acc[3] = tg_smlatt(wo, x[1], acc[3]);
                    }
                }
                tg_depthwise_store(&rows, p, acc, out);
            }
        }
    }
#else
    tg_depthwise_conv_s8(ctx, p, input, output);
#endif
}
