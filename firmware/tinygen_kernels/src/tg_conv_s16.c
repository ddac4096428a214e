/* tg_conv_s16: standard and grouped 2-D convolution, 16x8 (int16 activations, int8 weights), plain C99.
 * Input [1, H, W, C_in], filter [C_out, KH, KW, C_in / groups] (OHWI), output [1, OH, OW, C_out].
 * TFLite's ConvPerChannel for int16: zero points 0, so padded taps (skipped) equal padding with 0. */
#include "tg_s16.h"

void tg_conv_s16(const tg_context *ctx, const tg_conv_s16_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, group_in = p->filter.c;
    const int32_t group_out = out_c / p->groups;
    int32_t oy, ox, oc, ky, kx, ic;
    (void)ctx;
    for (oy = 0; oy < out_h; ++oy) {
        for (ox = 0; ox < out_w; ++ox) {
            for (oc = 0; oc < out_c; ++oc) {
                const int8_t *w = p->weights + oc * k_h * k_w * group_in;
                const int32_t first = (oc / group_out) * group_in;
                const int32_t q = p->per_channel ? oc : 0;
                int64_t acc = p->bias ? p->bias[oc] : 0;
                int64_t out;
                for (ky = 0; ky < k_h; ++ky) {
                    const int32_t in_y = oy * p->stride.h - p->padding.top + ky * p->dilation.h;
                    if (in_y < 0 || in_y >= in_h) {
                        continue;
                    }
                    for (kx = 0; kx < k_w; ++kx) {
                        const int32_t in_x = ox * p->stride.w - p->padding.left + kx * p->dilation.w;
                        const int16_t *x = input + (in_y * in_w + in_x) * in_c + first;
                        const int8_t *tap = w + (ky * k_w + kx) * group_in;
                        int32_t partial = 0; /* one tap's channels: |sum| <= C_in 127 2^15, int32 up to 511 */
                        if (in_x < 0 || in_x >= in_w) {
                            continue;
                        }
                        for (ic = 0; ic < group_in; ++ic) {
                            partial += tap[ic] * x[ic];
                            if ((ic & 255) == 255) { /* flush before 512 products could overflow int32 */
                                acc += partial;
                                partial = 0;
                            }
                        }
                        acc += partial;
                    }
                }
                out = tg_requantize_s64(acc, p->multiplier[q], p->shift[q]);
                output[(oy * out_w + ox) * out_c + oc] = (int16_t)TG_CLAMP(out, p->activation_min,
                                                                           p->activation_max);
            }
        }
    }
}
