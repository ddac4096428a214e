/* tg_avg_pool_fast_s8: average pooling (TFLite rounding, ONNX count_include_pad). Must equal
 * tg_avg_pool_s8 (the plain C reference), and falls back to it on cores without the DSP extension.
 *
 * DSP: 4 channels at a time; SXTAB16 adds the sign-extended bytes of a word to two int16 lanes, so a
 * window is summed with one load and two SXTAB16 per 4 channels and tap (|sum| <= 128 * 256 fits an
 * int16 lane; after every 256 taps the lanes are added to int32 sums), then each channel's sum is
 * finished as in the plain kernel (internal/tg_pool_average.h). */
#include "internal/tg_dsp.h"
#include "internal/tg_pool_average.h"
#include "tg_pool.h"

#if defined(__ARM_FEATURE_DSP)
/* Taps of one axis inside the input, and inside the padded input (as tg_avg_pool_s8 counts them). */
TG_COLD static void tg_pool_taps(int32_t start, int32_t kernel, int32_t dilation, int32_t size, int32_t pad_begin,
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

/* Add the int16 lanes (channels 0, 2 in even, 1, 3 in odd) to the int32 sums and clear them. */
static void tg_pool_flush(int32_t sums[4], uint32_t *even, uint32_t *odd)
{
    sums[0] += (int16_t)(*even & 0xFFFFu);
    sums[1] += (int16_t)(*odd & 0xFFFFu);
    sums[2] += (int16_t)(*even >> 16);
    sums[3] += (int16_t)(*odd >> 16);
    *even = 0;
    *odd = 0;
}
#endif

void tg_avg_pool_fast_s8(const tg_context *ctx, const tg_pool_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t in_h = p->input.h, in_w = p->input.w, channels = p->input.c;
    int32_t oy, ox, c, ky, kx;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        int32_t rows, rows_padded;
        tg_pool_taps(base_y, p->kernel.h, p->dilation.h, in_h, p->padding.top, p->padding.bottom, &rows,
                     &rows_padded);
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int32_t cols, cols_padded;
            tg_pool_taps(base_x, p->kernel.w, p->dilation.w, in_w, p->padding.left, p->padding.right, &cols,
                         &cols_padded);
            for (c = 0; c < channels; c += 4) {
                const int32_t lanes = TG_MIN(4, channels - c);
                uint32_t even = 0, odd = 0;
                int32_t sums[4] = {0, 0, 0, 0}, taps = 0, j;
                if (lanes == 4 && rows * cols == p->kernel.h * p->kernel.w && rows * cols <= 256) {
                    /* the window inside the input (a global pool): a pointer walk, no int16 lane can overflow */
                    const int8_t *src = input + (base_y * in_w + base_x) * channels + c;
                    for (ky = 0; ky < p->kernel.h; ++ky, src += p->dilation.h * in_w * channels) {
                        const int8_t *tap = src;
                        for (kx = 0; kx < p->kernel.w; ++kx, tap += p->dilation.w * channels) {
                            const uint32_t raw = tg_read_u32(tap);
                            even = tg_sxtab16(even, raw);
                            odd = tg_sxtab16_ror8(odd, raw);
                        }
                    }
                } else {
                    for (ky = 0; ky < p->kernel.h; ++ky) {
                        const int32_t y = base_y + ky * p->dilation.h;
                        if (y < 0 || y >= in_h) {
                            continue;
                        }
                        for (kx = 0; kx < p->kernel.w; ++kx) {
                            const int32_t x = base_x + kx * p->dilation.w;
                            if (x >= 0 && x < in_w) {
                                const int8_t *src = input + (y * in_w + x) * channels + c;
                                const uint32_t raw = lanes == 4 ? tg_read_u32(src) : tg_dsp_read_partial(src, lanes, 0);
                                even = tg_sxtab16(even, raw);
                                odd = tg_sxtab16_ror8(odd, raw);
                                if (++taps == 256) { /* before an int16 lane could overflow */
                                    tg_pool_flush(sums, &even, &odd);
                                    taps = 0;
                                }
                            }
                        }
                    }
                }
                tg_pool_flush(sums, &even, &odd);
                for (j = 0; j < lanes; ++j) {
                    *output++ = tg_pool_average(p, sums[j], rows * cols, rows_padded * cols_padded);
                }
            }
        }
    }
#else
    tg_avg_pool_s8(ctx, p, input, output);
#endif
}
