/* tg_resize_nearest_s8: nearest-neighbour resize of an [1, H, W, C] map by per-row and per-column index
 * tables (tg_resize.h). Each output pixel is a copy of C bytes; an output row that repeats the row before
 * it (an integer upscale) is copied whole. */
#include <string.h>

#include "tg_resize.h"

void tg_resize_nearest_s8(const tg_context *ctx, const tg_resize_params *p, const int8_t *input, int8_t *output)
{
    const int32_t channels = p->input.c, out_w = p->output.w;
    const int32_t row_bytes = out_w * channels;
    int32_t oy, ox;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        int8_t *out = output + oy * row_bytes;
        if (oy > 0 && p->y0[oy] == p->y0[oy - 1]) {
            memcpy(out, out - row_bytes, (size_t)row_bytes);
            continue;
        }
        {
            const int8_t *row = input + p->y0[oy] * p->input.w * channels;
            for (ox = 0; ox < out_w; ++ox) {
                memcpy(out + ox * channels, row + p->x0[ox] * channels, (size_t)channels);
            }
        }
    }
}
