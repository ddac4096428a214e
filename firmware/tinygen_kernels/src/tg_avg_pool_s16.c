/* tg_avg_pool_s16: average pooling of int16 values (zero point 0), plain C99: TFLite's AveragePool16
 * (round_half_away(sum / count)), or with params->mean TFLM's integer MEAN (one requantization of the sum,
 * as tg_avg_pool_s8 does it). The sum of at most 65,536 int16 values fits int32. */
#include "internal/tg_pool_average.h"
#include "tg_s16.h"

static int16_t average_of(const tg_pool_params *p, int32_t sum, int32_t count, int32_t count_padded)
{
    int32_t average;
    if (p->count_include_pad) {
        count = count_padded; /* padded taps count as 0 */
    }
    count = TG_MAX(count, 1);
    if (p->mean) {
        average = tg_pool_mean(sum, count, p->multiplier, p->shift); /* |sum| <= 2^15 n < 2^31 */
    } else {
        average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    }
    return (int16_t)TG_CLAMP(average, -32768, 32767);
}

void tg_avg_pool_s16(const tg_context *ctx, const tg_pool_params *p, const int16_t *input, int16_t *output)
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
                *output++ = average_of(p, sum, rows * cols, rows_padded * cols_padded);
            }
        }
    }
}
