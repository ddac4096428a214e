/* tg_layer_norm_s8: layer normalization of int8 rows with integer statistics, plain C99. Mirrors
 * tinygen/ops/layernorm.py (normalized_q31, layer_norm_rows) operation for operation. */
#include "tg_layer_norm.h"
#include "tg_requant.h"

/* floor(sqrt(x)) for x < 2^62, digit by digit: exact. */
static uint32_t tg_isqrt64(uint64_t x)
{
    uint64_t result = 0, bit = (uint64_t)1 << 62;
    while (bit > x) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (x >= result + bit) {
            x -= result + bit;
            result = (result >> 1) + bit;
        } else {
            result >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)result;
}

/* x / 2^exponent for int64, ties away from zero; exponent in [0, 31]. */
static int64_t tg_divide_by_power_of_two_64(int64_t x, int32_t exponent)
{
    const int64_t mask = (int64_t)(((uint64_t)1 << exponent) - 1u);
    const int64_t remainder = x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

void tg_layer_norm_s8(const tg_context *ctx, const tg_layer_norm_params *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    int32_t row, k;
    (void)ctx;
    for (row = 0; row < p->rows; ++row) {
        const int8_t *x = input + row * depth;
        int8_t *y = output + row * depth;
        int32_t sum = 0, j = 0, bits = 0;
        uint64_t variance, wq, s, reciprocal;
        for (k = 0; k < depth; ++k) {
            sum += x[k];
        }
        variance = (uint64_t)p->eps_term;
        for (k = 0; k < depth; ++k) {
            const int64_t d = (int64_t)depth * x[k] - sum;
            variance += (uint64_t)(d * d);
        }
        if (variance == 0) {
            variance = 1;
        }
        /* V = W 4^j with W in [1, 4): W in Q30, its square root in Q30, the reciprocal in Q31. */
        while ((variance >> bits) > 1u) {
            ++bits;
        }
        j = bits / 2;
        wq = 2 * j >= 30 ? variance >> (2 * j - 30) : variance << (30 - 2 * j);
        s = tg_isqrt64(wq << 30);
        reciprocal = ((uint64_t)1 << 61) / s;
        if (reciprocal > 0x7fffffffu) {
            reciprocal = 0x7fffffffu;
        }
        for (k = 0; k < depth; ++k) {
            const int64_t d = (int64_t)depth * x[k] - sum;
            int64_t u = tg_divide_by_power_of_two_64(d * (int64_t)reciprocal, j);
            int32_t multiplier = p->multiplier[k], t, out;
            u = TG_CLAMP(u, -(int64_t)0x7fffffff, (int64_t)0x7fffffff);
            if (multiplier < 0) {
                u = -u;
                multiplier = -multiplier;
            }
            t = tg_requantize((int32_t)u, multiplier, p->shift[k]);
            out = tg_divide_by_power_of_two(t + p->bias[k], 8) + p->output_offset;
            y[k] = (int8_t)TG_CLAMP(out, -128, 127);
        }
    }
}
