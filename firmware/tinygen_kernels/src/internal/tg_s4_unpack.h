/* tinygen kernel library: building blocks of the 4-bit weight kernels (tg_*_s4.c, tg_s4.h): reading packed
 * int4 values, the taps of a window inside the input, and the dot product of a run of packed weights with
 * int8 inputs (plain C, and with the DSP extension where the core has it: tg_dsp.h). */
#ifndef TG_S4_UNPACK_H
#define TG_S4_UNPACK_H

#include <stdint.h>
#include <string.h>

#include "tg_dsp.h"
#include "tg_requant.h"

/* The two values of a packed byte (uint32_t in [0, 255]), sign-extended with (n ^ 8) - 8: defined C for every
 * nibble n in [0, 15] (no shift of a negative number); GCC makes each one signed bit-field extract. */
#define TG_S4_LOW(byte) ((int32_t)(((byte)&15u) ^ 8u) - 8)
#define TG_S4_HIGH(byte) ((int32_t)((((byte) >> 4) & 15u) ^ 8u) - 8)

/* Value `index` of packed int4 data. */
TG_INLINE int32_t tg_s4_at(const int8_t *packed, int32_t index)
{
    const uint32_t byte = (uint8_t)packed[index >> 1];
    return (index & 1) ? TG_S4_HIGH(byte) : TG_S4_LOW(byte);
}

/* The taps k in [first, end) of a window axis whose input position base + k * dilation lies in [0, size):
 * the kernels loop over those only, instead of testing every tap. */
TG_INLINE void tg_s4_taps(int32_t base, int32_t dilation, int32_t size, int32_t taps, int32_t *first,
                          int32_t *end)
{
    int32_t lo = base < 0 ? (-base + dilation - 1) / dilation : 0;
    int32_t hi = base < size ? (size - base + dilation - 1) / dilation : 0;
    *first = lo < taps ? lo : taps;
    *end = hi < taps ? hi : taps;
    if (*end < *first) {
        *end = *first;
    }
}

/* sum over j < count of w[start + j] * (x[j] + offset), w packed int4: an odd start takes one high nibble
 * first; then, on cores with the DSP extension, 8 weights per step (below); then one byte (two weights) per
 * step, and a last low nibble if one is left.
 *
 * The DSP step reads 4 packed bytes w and 8 inputs. (w << 4) & 0xF0F0F0F0 holds the even weights w0 w2 w4
 * w6 as the high nibbles of its bytes, w & 0xF0F0F0F0 the odd ones: as int8 bytes, 16 times each weight,
 * which SXTB16 sign-extends into int16 lanes [w0, w4], [w2, w6], [w1, w5], [w3, w7] (x 16) with no
 * nibble arithmetic. The inputs, widened with the offset added by SXTAB16 to [x0, x2], [x4, x6] (and the
 * odd [x1, x3], [x5, x7]), are re-paired to those lanes with a halfword pack, and SMLAD adds two products
 * at a time. The sum is 16 times the dot product, exact, divided back after each block: a product is at
 * most 16 * 8 * 255 = 32,640, so a block of TG_S4_DSP_BLOCK = 8,192 values stays below 2^28. */
#define TG_S4_DSP_BLOCK 8192

TG_INLINE int32_t tg_s4_dot(const int8_t *packed, int32_t start, const int8_t *x, int32_t count, int32_t offset)
{
    int32_t acc = 0;
    int32_t j = 0;
    const uint8_t *bytes;
    if (count > 0 && (start & 1)) {
        acc += tg_s4_at(packed, start) * (x[0] + offset);
        j = 1;
    }
    bytes = (const uint8_t *)packed + ((start + j) >> 1);
#if defined(__ARM_FEATURE_DSP)
    {
        const uint32_t offsets = tg_pair(offset);
        while (count - j >= 8) {
            const int32_t steps = (count - j) / 8;
            const int32_t block_end = j + 8 * (steps < TG_S4_DSP_BLOCK / 8 ? steps : TG_S4_DSP_BLOCK / 8);
            int32_t sixteen = 0;
            for (; j < block_end; j += 8) {
                const uint32_t w = tg_read_u32(bytes);
                const uint32_t x0 = tg_read_u32(x + j), x1 = tg_read_u32(x + j + 4);
                const uint32_t even = (w << 4) & 0xF0F0F0F0u, odd = w & 0xF0F0F0F0u;
                const uint32_t a = tg_sxtab16(offsets, x0), b = tg_sxtab16(offsets, x1);
                const uint32_t c = tg_sxtab16_ror8(offsets, x0), d = tg_sxtab16_ror8(offsets, x1);
                sixteen = tg_smlad(tg_sxtb16(even), (a & 0xFFFFu) | (b << 16), sixteen);
                sixteen = tg_smlad(tg_sxtb16_ror8(even), (b & 0xFFFF0000u) | (a >> 16), sixteen);
                sixteen = tg_smlad(tg_sxtb16(odd), (c & 0xFFFFu) | (d << 16), sixteen);
                sixteen = tg_smlad(tg_sxtb16_ror8(odd), (d & 0xFFFF0000u) | (c >> 16), sixteen);
                bytes += 4;
            }
            acc += sixteen / 16; /* exact: a multiple of 16 */
        }
    }
#endif
    for (; j + 1 < count; j += 2) {
        const uint32_t byte = *bytes++;
        acc += TG_S4_LOW(byte) * (x[j] + offset);
        acc += TG_S4_HIGH(byte) * (x[j + 1] + offset);
    }
    if (j < count) {
        acc += tg_s4_at(packed, start + j) * (x[j] + offset);
    }
    return acc;
}

/* A window of n int8 values used by many dot products (a convolution's output channels): on cores with the
 * DSP extension, tg_s4_widen stores its n / 8 full blocks of 8 once, offset added and already in the lanes
 * tg_s4_dot pairs them in ([x0, x4], [x2, x6], [x1, x5], [x3, x7], 16 bytes a block), so that each dot
 * product (tg_s4_dot_widened) only unpacks the weights. TG_S4_WIDE_BYTES(n) bytes (any alignment); without
 * the DSP extension nothing is stored and tg_s4_dot_widened is tg_s4_dot. Only for rows that start at an
 * even value (the blocks then line up with whole bytes of every row). */
#define TG_S4_WIDE_BYTES(n) (2 * ((n) / 8 * 8))

TG_INLINE void tg_s4_widen(const int8_t *x, int32_t n, int32_t offset, uint8_t *wide)
{
#if defined(__ARM_FEATURE_DSP)
    const uint32_t offsets = tg_pair(offset);
    int32_t j;
    for (j = 0; j + 8 <= n; j += 8) {
        const uint32_t x0 = tg_read_u32(x + j), x1 = tg_read_u32(x + j + 4);
        const uint32_t a = tg_sxtab16(offsets, x0), b = tg_sxtab16(offsets, x1);
        const uint32_t c = tg_sxtab16_ror8(offsets, x0), d = tg_sxtab16_ror8(offsets, x1);
        const uint32_t lanes[4] = {(a & 0xFFFFu) | (b << 16), (b & 0xFFFF0000u) | (a >> 16), (c & 0xFFFFu) | (d << 16),
                                   (d & 0xFFFF0000u) | (c >> 16)};
        memcpy(wide + 2 * j, lanes, sizeof lanes);
    }
#else
    (void)x;
    (void)n;
    (void)offset;
    (void)wide;
#endif
}

/* tg_s4_dot(packed, start, x, n, offset) with x's blocks widened by tg_s4_widen; start even. */
TG_INLINE int32_t tg_s4_dot_widened(const int8_t *packed, int32_t start, const int8_t *x, const uint8_t *wide,
                                    int32_t n, int32_t offset)
{
#if defined(__ARM_FEATURE_DSP)
    const uint8_t *bytes = (const uint8_t *)packed + (start >> 1);
    const int32_t full = n / 8 * 8;
    int32_t acc = 0;
    int32_t j = 0;
    while (j < full) { /* blocks of at most TG_S4_DSP_BLOCK values: 16 x the sum stays below 2^28 */
        const int32_t block_end = full - j < TG_S4_DSP_BLOCK ? full : j + TG_S4_DSP_BLOCK;
        int32_t sixteen = 0;
        for (; j < block_end; j += 8) {
            const uint32_t w = tg_read_u32(bytes);
            const uint32_t even = (w << 4) & 0xF0F0F0F0u, odd = w & 0xF0F0F0F0u;
            sixteen = tg_smlad(tg_sxtb16(even), tg_read_u32(wide + 2 * j), sixteen);
            sixteen = tg_smlad(tg_sxtb16_ror8(even), tg_read_u32(wide + 2 * j + 4), sixteen);
            sixteen = tg_smlad(tg_sxtb16(odd), tg_read_u32(wide + 2 * j + 8), sixteen);
            sixteen = tg_smlad(tg_sxtb16_ror8(odd), tg_read_u32(wide + 2 * j + 12), sixteen);
            bytes += 4;
        }
        acc += sixteen / 16; /* exact: a multiple of 16 */
    }
    return acc + tg_s4_dot(packed, start + full, x + full, n - full, offset);
#else
    (void)wide;
    return tg_s4_dot(packed, start, x, n, offset);
#endif
}

#endif /* TG_S4_UNPACK_H */
