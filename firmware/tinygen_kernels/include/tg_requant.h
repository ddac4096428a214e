/* tinygen kernel library: fixed-point requantization (TFLite's int8 arithmetic).
 *
 * MultiplyByQuantizedMultiplier as TFLite Micro builds it by default ("double rounding"):
 *   1. x * 2^left_shift                        (shift > 0; wraps like TFLite's int32 multiply)
 *   2. round(x * m / 2^31), ties toward +infinity  (saturating rounding doubling high multiply)
 *   3. divide by 2^right_shift, ties away from zero  (shift < 0)
 * Mirrored in Python by tinygen/arith.py; tests drive millions of random triples through both.
 *
 * Step 2 is written as ((int64)a*b + 2^30) >> 31 (one SMLAL on Cortex-M): for b >= 0 it equals
 * gemmlowp's nudge-and-truncate form, so `multiplier` must be in [0, 2^31).
 * Right shifts of negative values are arithmetic on every compiler tinygen supports (GCC, Clang).
 */
#ifndef TG_REQUANT_H
#define TG_REQUANT_H

#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define TG_INLINE static inline __attribute__((always_inline))
#else
#define TG_INLINE static inline
#endif

/* Code optimized for size rather than speed (GCC): kernels that do little work per inference (a softmax
 * over a handful of classes); and, on cores with the DSP extension, the plain kernels the DSP variants
 * fall back to (TG_FALLBACK), which run there only for layers no variant takes. Elsewhere the plain
 * kernels are the kernels and are built as the project says. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_SMALL __attribute__((optimize("Os")))
#else
#define TG_SMALL
#endif
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(__clang__)
#define TG_FALLBACK __attribute__((cold, optimize("Os")))
#else
#define TG_FALLBACK
#endif

#define TG_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TG_CLAMP(x, lo, hi) TG_MIN(TG_MAX((x), (lo)), (hi))

/* round(a * b / 2^31), ties toward +infinity (gemmlowp's SRDHM); b in [0, 2^31). */
TG_INLINE int32_t tg_doubling_high_mul(int32_t a, int32_t b)
{
    int64_t product = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
    return (int32_t)(product >> 31);
}

/* x / 2^exponent, ties away from zero; exponent in [0, 31]. */
TG_INLINE int32_t tg_divide_by_power_of_two(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

TG_INLINE int32_t tg_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left_shift);
    return tg_divide_by_power_of_two(tg_doubling_high_mul(shifted, multiplier), right_shift);
}

#endif /* TG_REQUANT_H */
