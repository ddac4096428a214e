/* tg_conv_s8: standard and grouped 2-D convolution, plain C99 reference.
 * Input [1, H, W, C_in], filter [C_out, KH, KW, C_in / groups], output [1, OH, OW, C_out].
 * Padded input positions are skipped, which equals padding with the input zero point.
 * In place (params->in_place), each output pixel is computed into the scratch buffer and copied to
 * the output once all its channels are done (tg_conv.h: the in-place contract). */
#include <string.h>

#include "tg_conv.h"
#include "tg_requant.h"

int32_t tg_conv_s8_get_buffer_size(const tg_conv_params *params)
{
    return params->in_place ? params->output.c : 0; /* in place: one output pixel */
}

TG_FALLBACK void tg_conv_s8_pixel(const tg_conv_params *p, const int8_t *input, int32_t oy, int32_t ox, int8_t *dst)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, group_in_c = p->filter.c;
    const int32_t group_out_c = p->output.c / p->groups;
    const int32_t base_y = oy * p->stride.h - p->padding.top, base_x = ox * p->stride.w - p->padding.left;
    int32_t oc, ky, kx, ic;
    for (oc = 0; oc < p->output.c; ++oc) {
        const int32_t first_in_c = (oc / group_out_c) * group_in_c;
        const int8_t *filter = tg_conv_weights_of(p, oc, k_h * k_w * group_in_c);
        int32_t acc = p->bias ? p->bias[oc] : 0;
        for (ky = 0; filter != NULL && ky < k_h; ++ky) { /* a dead channel sums nothing */
            const int32_t in_y = base_y + ky * p->dilation.h;
            if (in_y < 0 || in_y >= in_h) {
                continue;
            }
            for (kx = 0; kx < k_w; ++kx) {
                const int32_t in_x = base_x + kx * p->dilation.w;
                const int8_t *pixel;
                const int8_t *taps;
                if (in_x < 0 || in_x >= in_w) {
                    continue;
                }
                pixel = input + (in_y * in_w + in_x) * in_c + first_in_c;
                taps = filter + (ky * k_w + kx) * group_in_c;
                for (ic = 0; ic < group_in_c; ++ic) {
                    acc += taps[ic] * (pixel[ic] + p->input_offset);
                }
            }
        }
        {
            const int32_t q = p->per_channel ? oc : 0;
            acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
        }
        dst[oc] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
    }
}

TG_FALLBACK void tg_conv_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    int8_t *pixel_buffer = p->in_place && ctx != NULL ? (int8_t *)ctx->buf : NULL;
    int32_t oy, ox;
    for (oy = 0; oy < p->output.h; ++oy) {
        for (ox = 0; ox < p->output.w; ++ox) {
            int8_t *out = output + (oy * p->output.w + ox) * p->output.c;
            if (pixel_buffer == NULL) {
                tg_conv_s8_pixel(p, input, oy, ox, out);
            } else { /* in place: the outputs replace input bytes once the pixel's window has been read */
                tg_conv_s8_pixel(p, input, oy, ox, pixel_buffer);
                memcpy(out, pixel_buffer, (size_t)p->output.c);
            }
        }
    }
}
