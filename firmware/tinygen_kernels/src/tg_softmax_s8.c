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

/* gemmlowp SaturatingRoundingMultiplyByPOTParam: x * 2^exponent, saturating (> 0) or rounded (< 0). */
TG_SMALL static int32_t multiply_by_pot(int32_t x, int32_t exponent)
{
    if (exponent > 0) {
        return saturating_left_shift(x, exponent);
    }
    return exponent < 0 ? tg_divide_by_power_of_two(x, -exponent) : x;
}

TG_SMALL static int32_t saturate(int64_t x)
{
    return (int32_t)(x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : x));
}

/* TFLite's log_x_for_x_greater_than_or_equal_to_1<5>: log of a Q12.19 value >= 1 as Q5.26, with an
 * accumulator of 6 integer bits (tinygen/ops/softmax.py log_x_ge_1 says how). */
TG_SMALL static int32_t log_sum_of_exps(int32_t z)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t accum_bits = 6, quarter = 1 << 23; /* 1/4 in Q6.25 */
    const int32_t a_headroom_plus_1 = count_leading_zeros((uint32_t)z);
    const int32_t r_a = multiply_by_pot(srdhm(multiply_by_pot(z, a_headroom_plus_1 - 1), sqrt_half), 1);
    const int32_t a_pow_2 = saturate((int64_t)multiply_by_pot(ACCUMULATION_INTEGER_BITS - a_headroom_plus_1,
                                                              31 - accum_bits) +
                                     quarter);
    const int32_t z_b = srdhm(z, sqrt_half);
    const int32_t b_headroom = count_leading_zeros((uint32_t)z_b) - 1;
    const int32_t r_b = multiply_by_pot(z, b_headroom);
    const int32_t b_pow_2 = saturate((int64_t)multiply_by_pot(ACCUMULATION_INTEGER_BITS - b_headroom,
                                                              31 - accum_bits) -
                                     quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t pow_2 = a_pow_2 > b_pow_2 ? a_pow_2 : b_pow_2;
    const int64_t total = (int64_t)r + sqrt_sqrt_half;
    const int32_t p = (int32_t)((total + (total >= 0 ? 1 : -1)) / 2); /* RoundingHalfSum */
    const int32_t q = 2 * (r - sqrt_sqrt_half);
    const int32_t square = srdhm(q, q);
    const int32_t num = srdhm(q, r) + srdhm(srdhm(q, square), alpha_n);
    const int32_t denominator_minus_one = srdhm(p, alpha_i + q + srdhm(alpha_d, square)) + srdhm(alpha_f, q);
    const int32_t reciprocal = one_over_one_plus_x(denominator_minus_one);
    const int32_t result = srdhm(pow_2, log_2) + srdhm(tg_divide_by_power_of_two(num, accum_bits), reciprocal);
    return multiply_by_pot(result, 1);
}

/* exp of the rescaled difference diff (diff_min <= diff <= 0), Q0.31: from the layer's table when it has one. */
TG_SMALL static int32_t difference_exp(const tg_softmax_params *p, int32_t diff)
{
    if (p->exp_table) {
        return p->exp_table[-diff];
    }
    return exp_on_negative_values(srdhm(scale_difference(diff, p->input_left_shift), p->input_multiplier));
}

/* The log-softmax outputs of one row (TFLite reference_integer_ops::LogSoftmax), given its max and sum. */
TG_SMALL static void log_softmax_row(const tg_softmax_params *p, const int8_t *in, int8_t *out, int32_t step,
                                     int32_t max, int32_t sum)
{
    const int32_t log_sum = log_sum_of_exps(sum); /* Q5.26, >= 0 */
    const int32_t shifted = (int32_t)((uint32_t)log_sum + 0x80000000u);
    const int32_t reverse = tg_requantize(shifted, p->reverse_multiplier, p->reverse_shift);
    const int32_t adjusted_diff_min = reverse > p->diff_min - 1 ? reverse : p->diff_min - 1;
    int32_t c;
    for (c = 0; c < p->depth; ++c) {
        const int32_t diff = in[c * step] - max;
        int32_t value = -128;
        if (diff > adjusted_diff_min) {
            const int32_t rescaled = srdhm(scale_difference(diff, p->input_left_shift), p->input_multiplier);
            /* In int64: the guard keeps the difference above -2^31; int64 stays defined either way. */
            const int64_t q27 = (int64_t)rescaled - log_sum;
            /* Q5.26 to 1/16 steps: divide by 2^22, ties away from zero (RoundingDivideByPOT). */
            const int64_t mask = ((int64_t)1 << 22) - 1;
            const int64_t remainder = q27 & mask, threshold = (mask >> 1) + (q27 < 0 ? 1 : 0);
            const int64_t v = (q27 >> 22) + (remainder > threshold ? 1 : 0) + 127;
            value = (int32_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
        }
        if (p->rescale) {
            value = tg_requantize(value - 127, p->output_multiplier, p->output_shift) + p->output_offset;
            value = TG_CLAMP(value, -128, 127);
        }
        out[c * step] = (int8_t)value;
    }
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
                sum += tg_divide_by_power_of_two(difference_exp(p, diff), ACCUMULATION_INTEGER_BITS);
            }
        }
        if (p->log) {
            log_softmax_row(p, in, out, step, max, sum);
            continue;
        }
        headroom = count_leading_zeros((uint32_t)sum);
        bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom;
        scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c * step] - max;
            int32_t value = -128;
            if (diff >= p->diff_min) {
                const int32_t exp = difference_exp(p, diff);
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
