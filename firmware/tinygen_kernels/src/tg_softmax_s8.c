/* tg_softmax_s8: TFLite's int8 softmax (reference_ops::Softmax with gemmlowp fixed point).
 * Mirrored by tinygen/ops/softmax.py, whose docstring explains the number formats:
 * differences in Q5.26, exponentials in Q0.31, their sum in Q12.19. */
#include "tg_requant.h"
#include "tg_softmax.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

/* gemmlowp SaturatingRoundingDoublingHighMul (exact, including INT32_MIN * INT32_MIN). */
TG_SMALL static int32_t srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    return (int32_t)((ab + (ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30)))) / ((int64_t)1 << 31));
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0. */
TG_SMALL static int32_t saturating_left_shift(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31: Taylor expansion around -1/8. */
TG_SMALL static int32_t exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28);
    const int32_t x2 = srdhm(x, x);
    const int32_t x3 = srdhm(x2, x);
    const int32_t x4 = srdhm(x2, x2);
    const int32_t x4_over_4 = tg_divide_by_power_of_two(x4, 2);
    const int32_t poly = tg_divide_by_power_of_two(srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return constant_term + srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 in Q5.26, result Q0.31. */
TG_SMALL static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = 1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    int32_t result = exp_on_interval(saturating_left_shift(a_mod_quarter_minus_one_quarter,
                                                           SCALED_DIFF_INTEGER_BITS));
    int32_t k;
    for (k = 0; k < 7; ++k) { /* exponents -2 .. 4: exp(-2^exponent) */
        if (remainder & (1 << (fractional_bits - 2 + k))) {
            result = srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31, Newton-Raphson with 48/17 - 32/17 d as the start. */
TG_SMALL static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + srdhm(half_denominator, -1010580540); /* Q2.29 */
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - srdhm(half_denominator, x);
        x = x + saturating_left_shift(srdhm(x, one_minus), 2);
    }
    return saturating_left_shift(x, 1);
}

/* diff * 2^left_shift for diff >= diff_min, which keeps the product inside int32 (TFLite's
 * CalculateInputRadius). Shifted as a uint32: `1 << 31` itself overflows an int when an input
 * scale >= 16 makes the left shift 31 (diff_min is then 0, so only diff = 0 gets here). */
TG_SMALL static int32_t scale_difference(int32_t diff, int32_t left_shift)
{
    return (int32_t)((uint32_t)diff << left_shift);
}

/* x / 2^exponent rounded, for 0 <= x < 2^31 and any exponent >= 0: from 2^32 on the quotient is
 * below 1/2 and rounds to 0 (the sum of exponentials is 512 or more), where a C shift by 32 or
 * more would be undefined. */
TG_SMALL static int32_t divide_nonnegative_by_power_of_two(int32_t x, int32_t exponent)
{
    return exponent > 31 ? 0 : tg_divide_by_power_of_two(x, exponent);
}

TG_SMALL static int32_t count_leading_zeros(uint32_t x)
{
    int32_t zeros = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++zeros;
    }
    return zeros;
}

TG_SMALL void tg_softmax_s8(const tg_context *ctx, const tg_softmax_params *p, const int8_t *input, int8_t *output)
{
    const int32_t step = p->inner;
    int32_t r, c;
    (void)ctx;
    for (r = 0; r < p->rows; ++r) {
        const int32_t start = (r / step) * p->depth * step + r % step; /* tg_softmax.h: the row's first value */
        const int8_t *in = input + start;
        int8_t *out = output + start;
        int32_t max = -128, sum = 0, headroom, bits_over_unit, scale;
        for (c = 0; c < p->depth; ++c) {
            max = in[c * step] > max ? in[c * step] : max;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c * step] - max;
            if (diff >= p->diff_min) {
                const int32_t rescaled = srdhm(scale_difference(diff, p->input_left_shift), p->input_multiplier);
                sum += tg_divide_by_power_of_two(exp_on_negative_values(rescaled), ACCUMULATION_INTEGER_BITS);
            }
        }
        headroom = count_leading_zeros((uint32_t)sum);
        bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom;
        scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c * step] - max;
            int32_t value = -128;
            if (diff >= p->diff_min) {
                const int32_t rescaled = srdhm(scale_difference(diff, p->input_left_shift), p->input_multiplier);
                const int32_t exp = exp_on_negative_values(rescaled);
                value = divide_nonnegative_by_power_of_two(srdhm(scale, exp), bits_over_unit + 31 - 8) - 128;
                value = TG_CLAMP(value, -128, 127);
            }
            if (p->rescale) {
                value = tg_requantize(value + 128, p->output_multiplier, p->output_shift) + p->output_offset;
                value = TG_CLAMP(value, -128, 127);
            }
            out[c * step] = (int8_t)value;
        }
    }
}
