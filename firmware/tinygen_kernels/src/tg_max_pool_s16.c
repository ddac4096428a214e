/* tg_max_pool_s16: max pooling of int16 values, plain C99: the max over the taps inside the input (padding
 * never wins); the output keeps the input's parameters. A window with no tap inside gives -32768. */
#include "tg_s16.h"

void tg_max_pool_s16(const tg_context *ctx, const tg_pool_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, channels = p->input.c;
    int32_t oy, ox, c, ky, kx;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            for (c = 0; c < channels; ++c) {
                int32_t best = -32768;
                for (ky = 0; ky < p->kernel.h; ++ky) {
                    const int32_t y = base_y + ky * p->dilation.h;
                    if (y < 0 || y >= in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->kernel.w; ++kx) {
                        const int32_t x = base_x + kx * p->dilation.w;
                        if (x >= 0 && x < in_w) {
                            best = TG_MAX(best, input[(y * in_w + x) * channels + c]);
                        }
                    }
                }
                *output++ = (int16_t)best;
            }
        }
    }
}
