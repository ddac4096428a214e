/* tg_depthwise_conv_s16: depthwise 2-D convolution with channel multiplier, 16x8, plain C99.
 * Input [1, H, W, C_in], filter [1, KH, KW, C_out], C_out = C_in * depth_multiplier (output channel c reads
 * input channel c / depth_multiplier), output [1, OH, OW, C_out]. TFLite's DepthwiseConvPerChannel for
 * int16: zero points 0, int64 accumulator (KH KW 127 2^15 stays far below 2^47 for any window). */
#include "tg_s16.h"

void tg_depthwise_conv_s16(const tg_context *ctx, const tg_conv_s16_params *p, const int16_t *input,
                           int16_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    int32_t oy, ox, oc, ky, kx;
    (void)ctx;
    for (oy = 0; oy < out_h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        int32_t ky0, ky1;
        tg_s16_valid_taps(base_y, k_h, p->dilation.h, in_h, &ky0, &ky1);
        for (ox = 0; ox < out_w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int32_t kx0, kx1;
            tg_s16_valid_taps(base_x, k_w, p->dilation.w, in_w, &kx0, &kx1);
            for (oc = 0; oc < out_c; ++oc) {
                const int16_t *channel = input + oc / p->depth_multiplier;
                const int32_t q = p->per_channel ? oc : 0;
                int64_t acc = p->bias ? p->bias[oc] : 0;
                int64_t out;
                for (ky = ky0; ky < ky1; ++ky) {
                    const int16_t *row = channel + (base_y + ky * p->dilation.h) * in_w * in_c;
                    const int8_t *taps = p->weights + ky * k_w * out_c + oc;
                    for (kx = kx0; kx < kx1; ++kx) {
                        acc += (int32_t)(taps[kx * out_c] * row[(base_x + kx * p->dilation.w) * in_c]);
                    }
                }
                out = tg_requantize_s64(acc, p->multiplier[q], p->shift[q]);
                output[(oy * out_w + ox) * out_c + oc] = (int16_t)TG_CLAMP(out, p->activation_min,
                                                                           p->activation_max);
            }
        }
    }
}
