/* tg_resize_bilinear_s8: bilinear resize of an [1, H, W, C] map with TFLite's int8 RESIZE_BILINEAR
 * arithmetic (10-bit weights; tg_resize.h), by per-row and per-column neighbour and weight tables. */
#include "tg_resize.h"

#define TG_RESIZE_ONE 1024 /* weights in 1/1024 steps */
#define TG_RESIZE_SHIFT 20 /* two weights multiplied */

void tg_resize_bilinear_s8(const tg_context *ctx, const tg_resize_params *p, const int8_t *input, int8_t *output)
{
    const int32_t channels = p->input.c, in_row = p->input.w * p->input.c;
    int32_t oy, ox, c;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int8_t *top = input + p->y0[oy] * in_row;
        const int8_t *bottom = input + p->y1[oy] * in_row;
        const int32_t wy = p->wy[oy];
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t wx = p->wx[ox];
            /* The four weights: each <= 2^20, summing to 2^20. */
            const int32_t w00 = (TG_RESIZE_ONE - wy) * (TG_RESIZE_ONE - wx), w10 = wy * (TG_RESIZE_ONE - wx);
            const int32_t w01 = (TG_RESIZE_ONE - wy) * wx, w11 = wy * wx;
            const int8_t *a = top + p->x0[ox] * channels, *b = bottom + p->x0[ox] * channels;
            const int8_t *d = top + p->x1[ox] * channels, *e = bottom + p->x1[ox] * channels;
            int8_t *out = output + (oy * p->output.w + ox) * channels;
            for (c = 0; c < channels; ++c) {
                const int32_t total = a[c] * w00 + b[c] * w10 + d[c] * w01 + e[c] * w11;
                const int32_t half = total > 0 ? 1 << (TG_RESIZE_SHIFT - 1) : -(1 << (TG_RESIZE_SHIFT - 1));
                out[c] = (int8_t)((total + half) / (1 << TG_RESIZE_SHIFT)); /* ties away from zero */
            }
        }
    }
}
