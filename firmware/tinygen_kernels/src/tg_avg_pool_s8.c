/* tg_avg_pool_s8: average pooling, plain C99, TFLite rounding.
 * The sum of at most 65,536 int8 values fits int32 easily. */
#include "tg_pool.h"
#include "tg_requant.h"

/* Taps of one axis that fall inside the input, and inside the padded input. */
static void count_taps(int32_t start, int32_t kernel, int32_t dilation, int32_t size, int32_t pad_begin,
                       int32_t pad_end, int32_t *inside, int32_t *inside_padded)
{
    int32_t k;
    *inside = 0;
    *inside_padded = 0;
    for (k = 0; k < kernel; ++k) {
        const int32_t i = start + k * dilation;
        *inside += (i >= 0 && i < size) ? 1 : 0;
        *inside_padded += (i >= -pad_begin && i < size + pad_end) ? 1 : 0;
    }
}

void tg_avg_pool_s8(const tg_context *ctx, const tg_pool_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, channels = p->input.c;
    int32_t oy, ox, c, ky, kx;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        int32_t rows, rows_padded;
        count_taps(base_y, p->kernel.h, p->dilation.h, in_h, p->padding.top, p->padding.bottom, &rows,
                   &rows_padded);
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int32_t cols, cols_padded, count;
            count_taps(base_x, p->kernel.w, p->dilation.w, in_w, p->padding.left, p->padding.right, &cols,
                       &cols_padded);
            for (c = 0; c < channels; ++c) {
                int32_t sum = 0, average;
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
                count = rows * cols;
                if (p->count_include_pad) {
                    sum += (rows_padded * cols_padded - count) * p->input_zero_point;
                    count = rows_padded * cols_padded;
                }
                if (count < 1) {
                    count = 1;
                }
                /* Round half away from zero (C division truncates toward zero). */
                if (p->rescale) {
                    /* Rescale the sum first, then divide: one rounding to the output step. Rounding the
                     * average to an input step first would cost up to s_in / (2 s_out) output steps.
                     * |sum - count zp| <= 255 count, and 255 count s_in / s_out < 2^31 (checked when
                     * the layer is quantized), so the rescaled sum fits. */
                    const int32_t scaled =
                        tg_requantize(sum - count * p->input_zero_point, p->multiplier, p->shift);
                    average = (scaled > 0 ? (scaled + count / 2) / count : (scaled - count / 2) / count) +
                              p->output_offset;
                } else {
                    average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                }
                *output++ = (int8_t)TG_CLAMP(average, -128, 127);
            }
        }
    }
}
