/* tinygen kernel library: the per-output step of average pooling, shared by tg_avg_pool_s8, its DSP
 * variant and tg_avg_pool_s16 so all round alike: from the sum of the raw values of a window to the output. */
#ifndef TG_POOL_AVERAGE_H
#define TG_POOL_AVERAGE_H

#include "tg_pool.h"
#include "tg_requant.h"

/* Taps of one axis that fall inside the input, and inside the padded input. */
TG_INLINE void tg_pool_count_taps(int32_t start, int32_t kernel, int32_t dilation, int32_t size, int32_t pad_begin,
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

/* TFLM's integer MEAN: one requantization of acc = sum(q - zp_in) by (s_in / s_out) / n, the division
 * folded into the multiplier: (M << sh) / n, where sh = min(floor(log2 n), 32, 31 + shift) keeps the
 * quotient below 2^31 (2^sh <= n) and its shift - sh >= -31. The caller keeps |acc| < 2^31. */
TG_INLINE int32_t tg_pool_mean(int32_t acc, int32_t n, int32_t multiplier, int32_t shift)
{
    int32_t sh = 0;
    while (sh < 32 && sh < 31 + shift && ((int64_t)2 << sh) <= n) {
        ++sh;
    }
    return tg_requantize(acc, (int32_t)(((int64_t)multiplier << sh) / n), shift - sh);
}

/* sum: of the taps inside the input; count: their number; count_padded: the taps inside the padded input. */
TG_INLINE int8_t tg_pool_average(const tg_pool_params *p, int32_t sum, int32_t count, int32_t count_padded)
{
    int32_t average;
    if (p->mean) {
        /* acc = sum(q - zp_in) (padded taps add 0); |acc| <= 255 n < 2^31 for any window tinygen emits. */
        const int32_t n = TG_MAX(p->count_include_pad ? count_padded : count, 1);
        average = tg_pool_mean(sum - p->input_zero_point * count, n, p->multiplier, p->shift);
        return (int8_t)TG_CLAMP(average + p->output_offset, -128, 127);
    }
    if (p->count_include_pad) {
        sum += (count_padded - count) * p->input_zero_point;
        count = count_padded;
    }
    if (count < 1) {
        count = 1;
    }
    /* Round half away from zero (C division truncates toward zero). */
    if (p->rescale) {
        /* Rescale the sum first, then divide: one rounding to the output step. Rounding the average
         * to an input step first would cost up to s_in / (2 s_out) output steps. |sum - count zp|
         * <= 255 count, and 255 count s_in / s_out < 2^31 (checked when the layer is quantized). */
        const int32_t scaled = tg_requantize(sum - count * p->input_zero_point, p->multiplier, p->shift);
        average = (scaled > 0 ? (scaled + count / 2) / count : (scaled - count / 2) / count) + p->output_offset;
    } else {
        average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    }
    return (int8_t)TG_CLAMP(average, -128, 127);
}

#endif /* TG_POOL_AVERAGE_H */
