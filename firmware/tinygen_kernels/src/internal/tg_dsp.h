/* tinygen kernel library: building blocks of the Cortex-M DSP kernel variants (tg_<op>_<variant>_s8.c).
 *
 * Cores with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55) multiply two pairs of int16
 * and add both products to an int32 in one instruction (SMLAD), and sign-extend bytes 0 and 2 (or 1 and
 * 3) of a word into two int16 lanes in one (SXTB16, SXTAB16 also adds a lane-wise int16). The variants
 * therefore keep activations as int16 with the input offset already added, in the lane order SXTB16
 * gives the weights:
 *
 *     4 int8 values v0 v1 v2 v3  ->  "even" word (v0 | v2 << 16)  and  "odd" word (v1 | v3 << 16)
 *
 * so that smlad(even(w), even(x)) + smlad(odd(w), odd(x)) = w0 x0 + w1 x1 + w2 x2 + w3 x3. Weights stay
 * int8 in flash, in the plain kernels' layout, and are widened on the fly (one load and two SXTB16 per
 * 4 weights, reused over 4 pixels).
 *
 * Also here: the requantization every variant uses (tg_dsp_requant, bit-exact with tg_requantize).
 *
 * Everything except tg_dsp_requant_prepare / tg_dsp_requant is only defined when __ARM_FEATURE_DSP is.
 */
#ifndef TG_DSP_H
#define TG_DSP_H

#include <stdint.h>
#include <string.h>

#include "tg_requant.h"

/* Setup code run once per layer or channel group: optimized for size (flash), not speed. */
#if defined(__clang__)
#define TG_COLD __attribute__((cold))
#elif defined(__GNUC__)
#define TG_COLD __attribute__((cold, optimize("Os")))
#else
#define TG_COLD
#endif

/* --- requantization ------------------------------------------------------------------------------
 *
 * tg_requantize(x, M, shift) with shift = -e <= -1 is round_half_away(round(x M / 2^31) / 2^e), a
 * rounding doubling high multiply followed by a rounding divide (tg_requant.h). Both roundings fold
 * into one 64-bit expression, because floor(floor(a / b) + c) / d) = floor((a + c b) / (b d)) for
 * integers a, c and positive b, d:
 *
 *     r      = floor((x M + 2^30) / 2^31)                        (the doubling high multiply)
 *     result = floor((r + 2^(e-1) - [r < 0]) / 2^e)              (TFLite's RoundingDivideByPOT)
 *            = floor((x M + 2^30 + 2^(30+e) - [r < 0] 2^31) / 2^(31+e))
 *
 * and [r < 0] may be replaced by [x < 0] (M >= 0: x >= 0 gives r >= 0; x < 0 gives r <= 0, and for
 * r = 0 both choices give 0). The 64-bit value V = x M + K - [x < 0] 2^31 fits easily (|x M| < 2^62),
 * and V >> (31 + e) = (V >> 32) >> (e - 1), so the result is the high word of V shifted by e - 1: on
 * Cortex-M that is ASR, ADDS, ADC, SMLAL, ASR -- five instructions, exact for every int32 x.
 * Left shifts (shift > 0) and shift 0 take tg_requantize itself (rare: real multipliers >= 0.5).
 */
typedef struct {
    int32_t multiplier;
    uint32_t k_low; /* K = 2^30 + 2^(30+e), low and high word */
    int32_t k_high;
    int32_t shift; /* e - 1 when fast, else the original shift */
    int32_t fast;  /* 1: shift <= -1 (the five-instruction path) */
} tg_dsp_requant_t;

TG_INLINE void tg_dsp_requant_prepare(tg_dsp_requant_t *q, int32_t multiplier, int32_t shift)
{
    /* e = -shift in 1 .. 31: K = 2^30 + 2^(30+e) = (2^(e-2), 2^30) or, for e = 1, (0, 3 * 2^30) */
    const uint32_t power = 1u << ((uint32_t)-shift & 31u); /* 2^e */
    q->multiplier = multiplier;
    q->fast = shift <= -1;
    q->k_low = 0x40000000u | (power << 30);
    q->k_high = (int32_t)(power >> 2);
    q->shift = q->fast ? -shift - 1 : shift;
}

#if defined(__ARM_FEATURE_DSP)
/* clang-format off */
TG_INLINE int32_t tg_dsp_requant_fast(int32_t x, const tg_dsp_requant_t *q)
{
    int32_t sign, high, result;
    uint32_t low;
    __asm__("asr %[sign], %[x], #31\n\t"
            "adds %[low], %[klow], %[sign], lsl #31\n\t"
            "adc %[high], %[khigh], %[sign]\n\t"
            "smlal %[low], %[high], %[x], %[m]\n\t"
            "asr %[result], %[high], %[e1]"
            : [sign] "=&r"(sign), [low] "=&r"(low), [high] "=&r"(high), [result] "=r"(result)
            : [x] "r"(x), [klow] "r"(q->k_low), [khigh] "r"(q->k_high), [m] "r"(q->multiplier),
              [e1] "r"(q->shift)
            : "cc");
    return result;
}
/* clang-format on */
#else
/* The same arithmetic in portable C (used by the host tests of this header). */
TG_INLINE int32_t tg_dsp_requant_fast(int32_t x, const tg_dsp_requant_t *q)
{
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)q->k_high << 32) | q->k_low);
    const int64_t v = k + (int64_t)x * q->multiplier - (x < 0 ? ((int64_t)1 << 31) : 0);
    return (int32_t)(v >> 32) >> q->shift;
}
#endif

/* tg_requantize(x, multiplier, shift) for the prepared (multiplier, shift). */
TG_INLINE int32_t tg_dsp_requant(int32_t x, const tg_dsp_requant_t *q)
{
    return q->fast ? tg_dsp_requant_fast(x, q) : tg_requantize(x, q->multiplier, q->shift);
}

/* --- the short requantization ---------------------------------------------------------------------
 *
 * When the accumulator is known to stay below 2^29 in magnitude (the compiler proves it from the weights
 * and bias: tg_conv_params.accumulator_bits <= 29) and 1 <= e <= 23, one rounding multiply-accumulate
 * does both roundings and the output offset:
 *
 *     SMMLAR(2x, M, a) = floor((2 x M + a 2^32 + 2^31) / 2^32) = floor((x M + 2^30) / 2^31) + a = r + a
 *
 * and with a = 2^(e-1) + offset 2^e - [x < 0] the result shifted right by e is
 * floor((r + 2^(e-1) - [x < 0]) / 2^e) + offset = tg_requantize(x, M, -e) + offset (as above).
 * Nothing overflows: |2x| < 2^30, |r| <= 2^29, |a| <= 2^22 + 128 * 2^23 = 2^30 + 2^22, so |r + a| < 2^31
 * (an output offset in [-128, 127]). Three instructions and the shift, given 2x.
 */
typedef struct {
    int32_t multiplier;
    int32_t round; /* 2^(e-1) + output_offset * 2^e */
    int32_t shift; /* e */
} tg_dsp_short_t;

/* Does the short form apply to this layer's accumulators and this channel's shift? */
TG_INLINE int32_t tg_dsp_short_applies(int32_t accumulator_bits, int32_t shift)
{
    return accumulator_bits <= 29 && shift <= -1 && shift >= -23;
}

TG_INLINE void tg_dsp_short_prepare(tg_dsp_short_t *q, int32_t multiplier, int32_t shift, int32_t output_offset)
{
    q->multiplier = multiplier;
    q->shift = -shift;
    q->round = (int32_t)(1u << (-shift - 1)) + output_offset * (int32_t)(1u << -shift);
}

/* Shift 0 (e = 0, real multipliers in [0.5, 1)) too: then the result is r + output_offset with no sign
 * correction, so the correction is masked (sign_mask 0): tg_dsp_short_any. */
TG_INLINE int32_t tg_dsp_short_any_applies(int32_t accumulator_bits, int32_t shift)
{
    return accumulator_bits <= 29 && shift <= 0 && shift >= -23;
}

TG_INLINE void tg_dsp_short_any_prepare(tg_dsp_short_t *q, int32_t *sign_mask, int32_t multiplier, int32_t shift,
                                        int32_t output_offset)
{
    q->multiplier = multiplier;
    q->shift = -shift;
    q->round = (int32_t)(1u << (-shift) >> 1) + output_offset * (int32_t)(1u << -shift);
    *sign_mask = shift < 0 ? -1 : 0;
}

#if defined(__ARM_FEATURE_DSP)
/* tg_requantize(x, M, -e) + output_offset, given twice = 2 x. */
TG_INLINE int32_t tg_dsp_short(int32_t twice, const tg_dsp_short_t *q)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3"
            : "=r"(r)
            : "r"(twice), "r"(q->multiplier), "r"(q->round + (twice >> 31)));
    return r >> q->shift;
}

/* The same for 0 <= e <= 23 (sign_mask from tg_dsp_short_any_prepare). */
TG_INLINE int32_t tg_dsp_short_any(int32_t twice, const tg_dsp_short_t *q, int32_t sign_mask)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3"
            : "=r"(r)
            : "r"(twice), "r"(q->multiplier), "r"(q->round + ((twice >> 31) & sign_mask)));
    return r >> q->shift;
}
#else
TG_INLINE int32_t tg_dsp_short_any(int32_t twice, const tg_dsp_short_t *q, int32_t sign_mask)
{
    const int64_t a = (int64_t)(q->round + ((twice >> 31) & sign_mask));
    const int64_t v = (int64_t)twice * q->multiplier + (int64_t)((uint64_t)a << 32) + ((int64_t)1 << 31);
    return (int32_t)(v >> 32) >> q->shift;
}

TG_INLINE int32_t tg_dsp_short(int32_t twice, const tg_dsp_short_t *q)
{
    const int64_t a = (int64_t)(q->round + (twice >> 31));
    const int64_t v = (int64_t)twice * q->multiplier + (int64_t)((uint64_t)a << 32) + ((int64_t)1 << 31);
    return (int32_t)(v >> 32) >> q->shift;
}
#endif

#if defined(__ARM_FEATURE_DSP)

/* --- single instructions ------------------------------------------------------------------------ */

TG_INLINE uint32_t tg_read_u32(const void *p) /* any alignment (LDR allows it on v7-M / v8-M) */
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

TG_INLINE uint32_t tg_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1"
            : "=r"(r)
            : "r"(x));
    return r;
}

TG_INLINE uint32_t tg_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8"
            : "=r"(r)
            : "r"(x));
    return r;
}

/* Lane-wise a + sign-extended bytes 0 and 2 (or 1 and 3) of x. */
TG_INLINE uint32_t tg_sxtab16(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2"
            : "=r"(r)
            : "r"(a), "r"(x));
    return r;
}

TG_INLINE uint32_t tg_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8"
            : "=r"(r)
            : "r"(a), "r"(x));
    return r;
}

TG_INLINE int32_t tg_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3"
            : "=r"(r)
            : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + bottom(a) * bottom(b), acc + top(a) * top(b) */
TG_INLINE int32_t tg_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3"
            : "=r"(r)
            : "r"(a), "r"(b), "r"(acc));
    return r;
}

TG_INLINE int32_t tg_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3"
            : "=r"(r)
            : "r"(a), "r"(b), "r"(acc));
    return r;
}

TG_INLINE int32_t tg_ssat8(int32_t x)
{
    int32_t r;
    __asm__("ssat %0, #8, %1"
            : "=r"(r)
            : "r"(x));
    return r;
}

/* Both int16 lanes = v (v in int16). */
TG_INLINE uint32_t tg_pair(int32_t v)
{
    return ((uint32_t)v & 0xFFFFu) * 0x00010001u;
}

/* --- output stage ------------------------------------------------------------------------------- */

/* The clamp of one requantized value plus the output offset; `full` when the activation range is
 * the whole int8 range (one SSAT). */
TG_INLINE int8_t tg_dsp_clamp(int32_t v, int32_t full, int32_t act_min, int32_t act_max)
{
    return (int8_t)(full ? tg_ssat8(v) : TG_CLAMP(v, act_min, act_max));
}

/* --- widening activations to the even/odd int16 layout ------------------------------------------ */

/* n int8 values (n <= 4) as a word, the missing bytes set to `fill` (any alignment, no over-read). */
TG_INLINE uint32_t tg_dsp_read_partial(const int8_t *src, int32_t n, int8_t fill)
{
    uint32_t v = 0;
    int32_t i;
    for (i = 0; i < 4; ++i) {
        v |= (uint32_t)(uint8_t)(i < n ? src[i] : fill) << (8 * i);
    }
    return v;
}

/* Widen `count` int8 values (+ offset) into even/odd word pairs written every `stride` words
 * (stride 2: contiguous pairs). Values beyond `count` up to the next multiple of 4 become 0
 * (x + offset = 0, the contribution of a padded tap). */
TG_INLINE void tg_dsp_widen(uint32_t *dst, int32_t stride, const int8_t *src, int32_t count, uint32_t offsets)
{
    int32_t i;
    for (i = 0; i + 8 <= count; i += 8) {
        const uint32_t raw0 = tg_read_u32(src + i), raw1 = tg_read_u32(src + i + 4);
        dst[0] = tg_sxtab16(offsets, raw0);
        dst[1] = tg_sxtab16_ror8(offsets, raw0);
        dst[stride] = tg_sxtab16(offsets, raw1);
        dst[stride + 1] = tg_sxtab16_ror8(offsets, raw1);
        dst += 2 * stride;
    }
    if (i + 4 <= count) {
        const uint32_t raw = tg_read_u32(src + i);
        dst[0] = tg_sxtab16(offsets, raw);
        dst[1] = tg_sxtab16_ror8(offsets, raw);
        dst += stride;
        i += 4;
    }
    if (i < count) {
        /* fill with -offset: widened, x + offset = 0 */
        const uint32_t raw = tg_dsp_read_partial(src + i, count - i, (int8_t)(-(int32_t)(int16_t)offsets));
        dst[0] = tg_sxtab16(offsets, raw);
        dst[1] = tg_sxtab16_ror8(offsets, raw);
    }
}

#endif /* __ARM_FEATURE_DSP */

#endif /* TG_DSP_H */
