/* tg_depthwise_conv_s8: depthwise 2-D convolution with channel multiplier, plain C99 reference.
 * Input [1, H, W, C_in], filter [1, KH, KW, C_out] with C_out = C_in * depth_multiplier
 * (output channel c reads input channel c / depth_multiplier), output [1, OH, OW, C_out].
 * In place (params->in_place: multiplier 1, the output at the input's address), input pixels are
 * read from a ring of copies once the output has reached them (tg_conv.h: the in-place contract). */
#include <string.h>

#include "tg_conv.h"
#include "tg_requant.h"

/* Input pixel q is read by output pixel p >= q at most P_top * W + P_left pixels back: the first pixel a
 * window reads is at or after its first tap, (oy * S_h - P_top, ox * S_w - P_left), and an output row is
 * no wider than S_h input rows (the code generator runs a layer in place only then). */
int32_t tg_depthwise_conv_s8_ring_pixels(const tg_conv_params *p)
{
    return p->padding.top * p->input.w + p->padding.left + 1;
}

int32_t tg_depthwise_conv_s8_get_buffer_size(const tg_conv_params *params)
{
    return params->in_place ? tg_depthwise_conv_s8_ring_pixels(params) * params->input.c : 0;
}

TG_FALLBACK void tg_depthwise_conv_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input,
                                      int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t multiplier = p->depth_multiplier;
    int8_t *ring = p->in_place && ctx != NULL ? (int8_t *)ctx->buf : NULL;
    const int32_t slots = ring != NULL ? tg_depthwise_conv_s8_ring_pixels(p) : 1;
    int32_t oy, ox, oc, ky, kx;

    for (oy = 0; oy < out_h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        for (ox = 0; ox < out_w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            const int32_t pixel = oy * out_w + ox; /* the input pixel whose bytes this output overwrites */
            if (ring != NULL && pixel < in_h * in_w) {
                memcpy(ring + (pixel % slots) * in_c, input + pixel * in_c, (size_t)in_c);
            }
            for (oc = 0; oc < out_c; ++oc) {
                const int32_t ic = oc / multiplier;
                int32_t acc = p->bias ? p->bias[oc] : 0;
                for (ky = 0; ky < k_h; ++ky) {
                    const int32_t in_y = base_y + ky * p->dilation.h;
                    if (in_y < 0 || in_y >= in_h) {
                        continue;
                    }
                    for (kx = 0; kx < k_w; ++kx) {
                        const int32_t in_x = base_x + kx * p->dilation.w;
                        const int32_t q = in_y * in_w + in_x;
                        int32_t x;
                        if (in_x < 0 || in_x >= in_w) {
                            continue;
                        }
                        x = ring != NULL && q <= pixel ? ring[(q % slots) * in_c + ic] : input[q * in_c + ic];
                        acc += p->weights[(ky * k_w + kx) * out_c + oc] * (x + p->input_offset);
                    }
                }
                {
                    const int32_t q = p->per_channel ? oc : 0;
                    acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                }
                output[pixel * out_c + oc] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
            }
        }
    }
}
