/* tg_depthwise_conv_s4: depthwise 2-D convolution with 4-bit weights, plain C99 (tg_s4.h).
 * Input [1, H, W, C_in], filter [1, KH, KW, C_out] int4 packed two per byte (tap t of channel c is value
 * t * C_out + c), output [1, OH, OW, C_out] with C_out = C_in * depth_multiplier: channel c reads input
 * channel c / depth_multiplier. Padded input positions are skipped (the input zero point). */
#include "tg_requant.h"
#include "tg_s4.h"

int32_t tg_depthwise_conv_s4_get_buffer_size(const tg_conv_params *params)
{
    (void)params;
    return 0;
}

void tg_depthwise_conv_s4(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, out_c = p->output.c;
    const int32_t multiplier = p->depth_multiplier;
    int32_t oy, ox, oc, ky, kx;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int8_t *out = output + (oy * p->output.w + ox) * out_c;
            for (oc = 0; oc < out_c; ++oc) {
                const int32_t ic = oc / multiplier;
                const int32_t q = p->per_channel ? oc : 0;
                int32_t acc = p->bias ? p->bias[oc] : 0;
                for (ky = 0; ky < k_h; ++ky) {
                    const int32_t in_y = base_y + ky * p->dilation.h;
                    if (in_y < 0 || in_y >= in_h) {
                        continue;
                    }
                    for (kx = 0; kx < k_w; ++kx) {
                        const int32_t in_x = base_x + kx * p->dilation.w;
                        if (in_x < 0 || in_x >= in_w) {
                            continue;
                        }
                        acc += tg_s4_at(p->weights, (ky * k_w + kx) * out_c + oc) *
                               (input[(in_y * in_w + in_x) * in_c + ic] + p->input_offset);
                    }
                }
                acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                out[oc] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
            }
        }
    }
}
