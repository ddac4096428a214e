/* tg_conv_s8: standard and grouped 2-D convolution, plain C99 reference.
 * Input [1, H, W, C_in], filter [C_out, KH, KW, C_in / groups], output [1, OH, OW, C_out].
 * Padded input positions are skipped, which equals padding with the input zero point.
 * In place (params->in_place), each output pixel is computed from a copy of its input window
 * (tg_conv.h: the in-place contract). */
#include <string.h>

#include "tg_conv.h"
#include "tg_requant.h"

int32_t tg_conv_s8_get_buffer_size(const tg_conv_params *params)
{
    /* in place: one output pixel's input window */
    return params->in_place ? params->filter.h * params->filter.w * params->input.c : 0;
}

/* The KH x KW x C_in window of the output pixel at input (base_y, base_x), padded taps as the input
 * zero point (which contribute w * (zero point + input_offset) = 0, as skipped taps do). */
static void tg_conv_copy_window(const tg_conv_params *p, const int8_t *input, int32_t base_y, int32_t base_x,
                                int8_t *window)
{
    const int32_t in_c = p->input.c;
    int32_t ky, kx;
    for (ky = 0; ky < p->filter.h; ++ky) {
        const int32_t in_y = base_y + ky * p->dilation.h;
        for (kx = 0; kx < p->filter.w; ++kx, window += in_c) {
            const int32_t in_x = base_x + kx * p->dilation.w;
            if (in_y >= 0 && in_y < p->input.h && in_x >= 0 && in_x < p->input.w) {
                memcpy(window, input + (in_y * p->input.w + in_x) * in_c, (size_t)in_c);
            } else {
                memset(window, -p->input_offset, (size_t)in_c);
            }
        }
    }
}

void tg_conv_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_c = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, group_in_c = p->filter.c;
    const int32_t group_out_c = out_c / p->groups;
    int8_t *window = p->in_place && ctx != NULL ? (int8_t *)ctx->buf : NULL;
    /* Where the taps come from: the input, or (in place) the copied window, KH x KW pixels. */
    const int32_t src_h = window ? k_h : p->input.h, src_w = window ? k_w : p->input.w;
    const int32_t step_y = window ? 1 : p->dilation.h, step_x = window ? 1 : p->dilation.w;
    int32_t oy, ox, oc, ky, kx, ic;

    for (oy = 0; oy < out_h; ++oy) {
        for (ox = 0; ox < out_w; ++ox) {
            const int32_t in_y0 = oy * p->stride.h - p->padding.top, in_x0 = ox * p->stride.w - p->padding.left;
            const int8_t *src = input;
            int32_t base_y = in_y0, base_x = in_x0;
            if (window != NULL) {
                tg_conv_copy_window(p, input, in_y0, in_x0, window);
                src = window;
                base_y = base_x = 0;
            }
            for (oc = 0; oc < out_c; ++oc) {
                const int32_t first_in_c = (oc / group_out_c) * group_in_c;
                const int8_t *filter = tg_conv_weights_of(p, oc, k_h * k_w * group_in_c);
                int32_t acc = p->bias ? p->bias[oc] : 0;
                for (ky = 0; filter != NULL && ky < k_h; ++ky) { /* a dead channel sums nothing */
                    const int32_t in_y = base_y + ky * step_y;
                    if (in_y < 0 || in_y >= src_h) {
                        continue;
                    }
                    for (kx = 0; kx < k_w; ++kx) {
                        const int32_t in_x = base_x + kx * step_x;
                        const int8_t *pixel;
                        const int8_t *taps;
                        if (in_x < 0 || in_x >= src_w) {
                            continue;
                        }
                        pixel = src + (in_y * src_w + in_x) * in_c + first_in_c;
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
                output[(oy * out_w + ox) * out_c + oc] = (int8_t)TG_CLAMP(acc, p->activation_min,
                                                                          p->activation_max);
            }
        }
    }
}
