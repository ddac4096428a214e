/* tg_avg_pool_s8: average pooling, plain C99: TFLite AVERAGE_POOL_2D's rounding, or TFLM MEAN's
 * requantized sum (params->mean; internal/tg_pool_average.h).
 * The sum of at most 65,536 int8 values fits int32 easily. */
#include "internal/tg_pool_average.h"
#include "tg_pool.h"

void tg_avg_pool_s8(const tg_context *ctx, const tg_pool_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, channels = p->input.c;
    int32_t oy, ox, c, ky, kx;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        int32_t rows, rows_padded;
        tg_pool_count_taps(base_y, p->kernel.h, p->dilation.h, in_h, p->padding.top, p->padding.bottom, &rows,
                           &rows_padded);
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int32_t cols, cols_padded;
            tg_pool_count_taps(base_x, p->kernel.w, p->dilation.w, in_w, p->padding.left, p->padding.right, &cols,
                               &cols_padded);
            for (c = 0; c < channels; ++c) {
                int32_t sum = 0;
                for (ky = 0; ky < p->kernel.h; ++ky) {
                    const int32_t y = base_y + ky * p->dilation.h;
                    if (y < 0 || y >= in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->kernel.w; ++kx) {
                        const int32_t x = base_x + kx * p->dilation.w;
                        if (x >= 0 && x < in_w) {
                            sum += input[(y * in_w + x) * channels + c];
                        }
                    }
                }
                *output++ = tg_pool_average(p, sum, rows * cols, rows_padded * cols_padded);
            }
        }
    }
}
