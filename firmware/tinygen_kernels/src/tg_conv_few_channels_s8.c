/* tg_conv_few_channels_s8: standard 2-D convolution with 1 to 4 input channels (first layers: VWW's 3x3
 * RGB, KWS's 10x4 on one MFCC channel, IC's 3x3 RGB). Must equal tg_conv_s8 (its fallback on cores
 * without the DSP extension, with too little scratch, or for layers it does not take).
 *
 * With so few input channels the im2col variant widens each pixel's window (KH x KW x C_in taps, 27 for
 * VWW) for only C_out channels (8 for VWW): widening dominates. Here nothing is widened per pixel:
 *
 * - Weights are pre-packed by the compiler as int16 pairs (tinygen/ops/conv.py few_channels_packed):
 *   per output channel and kernel row, taps t = kx * C_in + c in pairs (t = 2j, 2j + 1), zero-padded
 *   to an even count (P = ceil(KW * C_in / 2) pairs per kernel row), so one SMLAD multiplies two taps
 *   of one channel; the steps in the order s = j * KH + ky (kernel rows inner). Channel pairs are
 *   interleaved pair by pair ([c0 s, c1 s], s = 0 ..), so that both channels' weight words of a step
 *   are consecutive.
 * - Activations: for each output row, the KH input rows it reads are widened once (+ input offset, as
 *   int16 in natural order: the pairs a pixel's window needs are words) into the scratch, with the
 *   padding as zeros (x + input_offset = 0 for a padded tap: padded taps contribute nothing, as
 *   tg_conv_s8 skips them). The KH rows are interleaved word by word (word k of row ky at k * KH + ky),
 *   so a pixel's window, P words of each row, is KH x P consecutive words in the weights' step order:
 *   the microkernel reads it in place (no block of windows is built). Output pixel ox's window starts
 *   at element s = ox * stride.w * C_in. When stride.w * C_in is odd, half the pixels start at an odd
 *   element: a second copy of the rows shifted by one element keeps their pairs word-aligned (unaligned
 *   loads cost extra bus cycles on the M4).
 * - The microkernel: 2 output channels x 2 output pixels (4 accumulators), per step one weight word of
 *   each channel and one activation word of each pixel, 4 SMLAD. Pixel pairs start at even ox, so the
 *   first pixel's window is in the even copy and the second's a fixed distance further (a register
 *   offset). A row's odd last pixel runs as a pair with itself (distance 0, its second result is not
 *   stored); an odd last channel pairs with a zero channel.
 *
 * In-place contract: output rows in order; the KH input rows of an output row are widened into the
 * scratch before any of its outputs is written (blocks of OW output pixels in tg_conv.h's terms). */
#include <string.h>

#include "tg_conv.h"
#include "internal/tg_dsp.h"

/* Pairs of taps per kernel row. */
static int32_t tg_few_pairs(const tg_conv_params *p)
{
    return (p->filter.w * p->input.c + 1) / 2;
}

/* Words of one widened row: the last pixel's window starts at element (OW - 1) * stride.w * C_in and
 * reads 2 P elements (from the odd copy: one element earlier); one more element for the odd copy. */
static int32_t tg_few_row_words(const tg_conv_params *p)
{
    return ((p->output.w - 1) * p->stride.w * p->input.c + 2 * tg_few_pairs(p) + 2) / 2;
}

/* Do some windows start at an odd element (the shifted copy is needed)? */
static int32_t tg_few_odd(const tg_conv_params *p)
{
    return (p->stride.w * p->input.c) % 2 != 0 && p->output.w > 1;
}

/* The steps of a pixel (KH x P tap pairs) rounded up to whole quads (the packed weights are 0 beyond). */
static int32_t tg_few_steps(const tg_conv_params *p)
{
    return (p->filter.h * tg_few_pairs(p) + 3) / 4 * 4;
}

/* Words of the scratch: the words the padding steps (first in the packed weights) read before the first
 * window (0, times weights 0), then the KH interleaved widened rows (and their shifted copy). */
static int32_t tg_few_scratch_words(const tg_conv_params *p)
{
    return p->filter.h * tg_few_row_words(p) * (tg_few_odd(p) ? 2 : 1) + tg_few_steps(p) -
           p->filter.h * tg_few_pairs(p);
}

/* The widened rows; at least one output pixel for tg_conv_s8 in place. */
int32_t tg_conv_few_channels_s8_get_buffer_size(const tg_conv_few_channels_params *params)
{
    return TG_MAX(4 * tg_few_scratch_words(&params->conv), params->conv.output.c);
}

#if defined(__ARM_FEATURE_DSP)

/* Four int8 values (+ offset: SXTAB16 adds it to two at once) as two words of int16 pairs in natural
 * order, (v0, v1) and (v2, v3), into dst[0] and dst[ks]: 2 SXTAB16 and 2 PKH. */
TG_INLINE void tg_few_pair_words(uint32_t raw, uint32_t offsets, uint32_t *dst, int32_t ks)
{
    const uint32_t lanes02 = tg_sxtab16(offsets, raw), lanes13 = tg_sxtab16_ror8(offsets, raw);
    uint32_t low, high;
    __asm__("pkhbt %0, %1, %2, lsl #16"
            : "=r"(low)
            : "r"(lanes02), "r"(lanes13));
    __asm__("pkhtb %0, %1, %2, asr #16"
            : "=r"(high)
            : "r"(lanes13), "r"(lanes02));
    dst[0] = low;
    dst[ks] = high;
}

/* `count` (a multiple of 4) int8 values from src (+ offset) as int16 pairs into to[0], to[ks], ..: 8 values
 * an iteration (the loop's compare and branch cost half as much per value). */
TG_INLINE void tg_few_widen_words(const int8_t *src, int32_t count, uint32_t offsets, uint32_t *to, int32_t ks)
{
    const int8_t *end = src + count;
    for (; src + 8 <= end; src += 8, to += 4 * ks) {
        const uint32_t raw0 = tg_read_u32(src), raw1 = tg_read_u32(src + 4);
        tg_few_pair_words(raw0, offsets, to, ks);
        tg_few_pair_words(raw1, offsets, to + 2 * ks, ks);
    }
    if (src < end) {
        tg_few_pair_words(tg_read_u32(src), offsets, to, ks);
    }
}

/* dst[k ks] = (src[(k - 1) ks] >> 16) | (src[k ks] << 16) for k < n, src[-ks] read as `prev` (a word
 * joined from the halves of two neighbouring words): two words an iteration, each source word loaded once.
 * Returns src[(n - 1) ks] (prev when n = 0). */
TG_INLINE uint32_t tg_few_join(const uint32_t *src, uint32_t *dst, int32_t n, uint32_t prev, int32_t ks)
{
    for (; n >= 2; n -= 2, src += 2 * ks, dst += 2 * ks) {
        const uint32_t c0 = src[0], c1 = src[ks];
        dst[0] = (prev >> 16) | (c0 << 16);
        dst[ks] = (c0 >> 16) | (c1 << 16);
        prev = c1;
    }
    if (n != 0) {
        const uint32_t c0 = src[0];
        dst[0] = (prev >> 16) | (c0 << 16);
        prev = c0;
    }
    return prev;
}

/* tg_few_join with immediate offsets for 3-row kernels (a register offset costs a cycle more). */
static uint32_t tg_few_join_any(const uint32_t *src, uint32_t *dst, int32_t n, uint32_t prev, int32_t ks)
{
    return ks == 3 ? tg_few_join(src, dst, n, prev, 3) : tg_few_join(src, dst, n, prev, ks);
}

/* Input row iy widened into `even` (element e = padded column e / C_in, channel e % C_in, as int16 pairs in
 * words) and, when odd != NULL, into `odd` shifted by one element (odd[e] = even[e + 1]); `words` words
 * each, ks words apart (word k at k * ks: the rows are interleaved). Rows outside the input and columns in
 * the padding are 0. The input values are widened four at a time into whichever copy they start a word of
 * (the even one when the left padding has an even number of elements), and the other copy is derived from
 * it a word at a time (two halves of neighbouring words). */
static void tg_few_widen(const tg_conv_params *p, const int8_t *input, int32_t iy, uint32_t *even, uint32_t *odd,
                         int32_t words, int32_t ks)
{
    const int32_t in_c = p->input.c, length = 2 * words;
    const int32_t lead = TG_MIN(p->padding.left * in_c, length);
    const int32_t count = iy >= 0 && iy < p->input.h ? TG_MIN(p->input.w * in_c, length - lead) : 0;
    const uint32_t offsets = tg_pair(p->input_offset);
    const int8_t *src = input + iy * p->input.w * in_c;
    const int32_t shifted = lead & 1; /* the values start words of the odd copy */
    uint32_t *aligned = shifted && odd != NULL ? odd : even;
    const int32_t first = (lead - shifted) / 2; /* the word the first value starts */
    int32_t i, k;
    if (count == 0) {
        for (k = 0; k < words; ++k) {
            even[k * ks] = 0;
            if (odd != NULL) {
                odd[k * ks] = 0;
            }
        }
        return;
    }
    for (k = 0; k < first; ++k) {
        aligned[k * ks] = 0;
    }
    {
        uint32_t *to = aligned + first * ks;
        if (ks == 3) { /* 3x3 kernels: immediate store offsets (a register offset costs a cycle more) */
            tg_few_widen_words(src, count & ~3, offsets, to, 3);
        } else {
            tg_few_widen_words(src, count & ~3, offsets, to, ks);
        }
    }
    i = count & ~3;
    k = first + i / 2;
    if (i < count) { /* 1 to 3 values, then zeros (filled with -offset: widened 0); no read beyond them */
        uint32_t pair[2];
        tg_few_pair_words(tg_dsp_read_partial(src + i, count - i, (int8_t)(-p->input_offset)), offsets, pair, 1);
        aligned[k++ * ks] = pair[0];
        if (k < words) {
            aligned[k++ * ks] = pair[1];
        }
    }
    for (; k < words; ++k) {
        aligned[k * ks] = 0;
    }
    if (!shifted) { /* odd[e] = even[e + 1] */
        if (odd != NULL) {
            odd[(words - 1) * ks] = tg_few_join_any(even + ks, odd, words - 1, even[0], ks) >> 16;
        }
    } else if (aligned == odd) { /* even[e] = odd[e - 1], even[0] padding */
        (void)tg_few_join_any(odd, even, words, 0, ks);
    } else { /* the odd copy's words were written into `even`: shift them one element up, last word first */
        for (k = words - 1; k > 0; --k) {
            even[k * ks] = (even[(k - 1) * ks] >> 16) | (even[k * ks] << 16);
        }
        even[0] <<= 16;
    }
}

/* The requantization of one channel: the short form where the compiler allows it (tg_dsp.h). */
typedef struct {
    tg_dsp_short_t fast;
    int32_t sign_mask;
    int32_t is_short;
    tg_dsp_requant_t general;
} tg_few_requant;

/* A pair of output channels c0, c0 + 1 (an odd last channel pairs with a zero channel, not stored), for
 * the general output stage (params->fast = 0). */
typedef struct {
    int32_t bias0, bias1, c0, store1;
    tg_few_requant q0, q1;
} tg_few_channels;

TG_INLINE void tg_few_requant_prepare(const tg_conv_params *p, int32_t oc, tg_few_requant *q)
{
    const int32_t i = p->per_channel ? oc : 0;
    const int32_t multiplier = p->multiplier[i], shift = p->shift[i];
    q->is_short = tg_dsp_short_any_applies(p->accumulator_bits, shift);
    if (q->is_short) {
        tg_dsp_short_any_prepare(&q->fast, &q->sign_mask, multiplier, shift, p->output_offset);
    } else {
        tg_dsp_requant_prepare(&q->general, multiplier, shift);
    }
}

TG_COLD static void tg_few_channels_prepare(const tg_conv_params *p, int32_t c0, tg_few_channels *c)
{
    c->c0 = c0;
    c->store1 = c0 + 1 < p->output.c;
    c->bias0 = p->bias ? p->bias[c0] : 0;
    c->bias1 = c->store1 && p->bias ? p->bias[c0 + 1] : 0;
    tg_few_requant_prepare(p, c0, &c->q0);
    tg_few_requant_prepare(p, c->store1 ? c0 + 1 : c0, &c->q1);
}

/* clang-format off */
/* One step: the two channels' weight words (w) and the two pixels' activation words (x, and d bytes
 * further), four SMLAD (8 multiplies). Four single loads back to back cost 2 + 1 + 1 + 1 cycles (a
 * register offset pipelines as an immediate one; two LDM of 2 words 6): 9 cycles. */
#define TG_FEW_STEP \
    "ldr %[wa], [%[w]], #4\n\t" \
    "ldr %[wb], [%[w]], #4\n\t" \
    "ldr %[b], [%[x], %[d]]\n\t" \
    "ldr %[a], [%[x]], #4\n\t" \
    "smlad %[c00], %[wa], %[a], %[c00]\n\t" \
    "smlad %[c01], %[wb], %[a], %[c01]\n\t" \
    "smlad %[c10], %[wa], %[b], %[c10]\n\t" \
    "smlad %[c11], %[wb], %[b], %[c11]\n\t"
/* The loop over `n` x 4 steps: 40 cycles per 32 multiplies. */
#define TG_FEW_LOOP "1:\n\t" TG_FEW_STEP TG_FEW_STEP TG_FEW_STEP TG_FEW_STEP "subs %[n], %[n], #1\n\t" "bne 1b\n\t"
/* The short requantization of accumulator `v` (tg_dsp_short: SMMLAR(2 v, M, round + [v < 0]) >> e) with
 * (M, round, e) in (wa, wb, a), saturated to int8 (the whole range): 5 cycles. */
#define TG_FEW_SHORT(v) \
    "lsl %[b], %[" v "], #1\n\t" \
    "add %[n], %[wb], %[b], asr #31\n\t" \
    "smmlar %[" v "], %[b], %[wa], %[n]\n\t" \
    "asr %[" v "], %[" v "], %[a]\n\t" \
    "ssat %[" v "], #8, %[" v "]\n\t"

/* The 4 outputs of a channel pair at a pixel pair (x: the first pixel's window, the second's d bytes
 * further; *w: the channel pair's packed words, left after them), params->fast: the biases, the loop, each channel's requantization (3 loads, 4 cycles, and
 * 10 cycles; single loads: an LDM's register list is in register order, which "r" operands do not fix), the four int8 results packed in a word (pixel 0 channel 0 in byte 0, channel 1 in
 * byte 1, pixel 1 in bytes 2, 3): about 34 cycles besides the loop. 12 registers: no r7. */
TG_INLINE uint32_t tg_few_quad_fast(const uint32_t *x, int32_t d, const uint32_t **weights, int32_t quads)
{
    const uint32_t *w = *weights;
    int32_t c00, c01, c10, c11;
    uint32_t wa, wb, a, b;
    __asm__ volatile(
        "ldr %[c00], [%[w]], #4\n\t"
        "ldr %[c01], [%[w]], #4\n\t"
        "mov %[c10], %[c00]\n\t"
        "mov %[c11], %[c01]\n\t"
        TG_FEW_LOOP
        "ldr %[wa], [%[w]], #4\n\t"
        "ldr %[wb], [%[w]], #4\n\t"
        "ldr %[a], [%[w]], #4\n\t"
        TG_FEW_SHORT("c00") TG_FEW_SHORT("c10")
        "ldr %[wa], [%[w]], #4\n\t"
        "ldr %[wb], [%[w]], #4\n\t"
        "ldr %[a], [%[w]], #4\n\t"
        TG_FEW_SHORT("c01") TG_FEW_SHORT("c11")
        "and %[c00], %[c00], #255\n\t"
        "bfi %[c00], %[c01], #8, #8\n\t"
        "bfi %[c00], %[c10], #16, #8\n\t"
        "bfi %[c00], %[c11], #24, #8"
        : [c00] "=&r"(c00), [c01] "=&r"(c01), [c10] "=&r"(c10), [c11] "=&r"(c11), [x] "+r"(x), [w] "+r"(w),
          [n] "+r"(quads), [wa] "=&r"(wa), [wb] "=&r"(wb), [a] "=&r"(a), [b] "=&r"(b)
        : [d] "r"(d)
        : "cc", "memory");
    *weights = w;
    return (uint32_t)c00;
}

/* acc[0..3] (pixel 0 channel 0, pixel 0 channel 1, pixel 1 channel 0, pixel 1 channel 1) += the products
 * of `quads` x 4 steps (the general output stage's accumulators). */
TG_INLINE void tg_few_mac(const uint32_t *x, int32_t d, const uint32_t *w, int32_t quads, int32_t *acc)
{
    int32_t c00 = acc[0], c01 = acc[1], c10 = acc[2], c11 = acc[3];
    uint32_t wa, wb, a, b;
    __asm__ volatile(TG_FEW_LOOP
                     : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [x] "+r"(x), [w] "+r"(w),
                       [n] "+r"(quads), [wa] "=&r"(wa), [wb] "=&r"(wb), [a] "=&r"(a), [b] "=&r"(b)
                     : [d] "r"(d)
                     : "cc", "memory");
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c10;
    acc[3] = c11;
}
/* What tg_few_row_fast reloads per pixel pair (it has no register left for it). */
typedef struct {
    const uint32_t *weights; /* the channel pair's packed words */
    int32_t quads;           /* steps / 4 */
    int8_t *out;             /* the pixel pair's first output (its channel c0) */
    int32_t out_c;
    int32_t count;   /* pixel pairs left */
    int32_t advance; /* bytes from the end of a pixel pair's window to the next pair's */
} tg_few_frame;

/* tg_few_quad_fast over `count` consecutive pixel pairs of a row (x: the first pair's window, the second
 * pixel's d bytes further), both pixels and both channels stored: per pixel pair the state is reloaded
 * from the frame (copied below sp first, so that it is reached without a register: the microkernel takes
 * every register but sp; a load whose address was just loaded would not pipeline), 4 STRB, and the loop:
 * about 17 cycles besides tg_few_quad_fast's. `past`: the bytes the second bias load moves the weights on
 * (4, or past p padding steps: 4 + 8 p); `entry`, after the biases: nothing (x and the weights at the
 * padded steps: all S steps run), or for p = 1 to 3 padding steps 4 - p steps before the loop (x at the
 * window itself; frame quads = S / 4 - 1): the padding steps, 9 cycles each, are not run (VWW's and
 * IC's 3x3x3 windows: 15 steps in 16). `loop`: the loop over the frame's quads, or straight steps. */
#define TG_FEW_ROW_FAST(name, past, entry, loop) \
TG_INLINE void name(const uint32_t *x, int32_t d, tg_few_frame *frame) \
{ \
    int32_t c00, c01, c10, c11, n; \
    const uint32_t *w; \
    uint32_t wa, wb, a, b = (uint32_t)frame; \
    __asm__ volatile( \
        "sub sp, sp, #24\n\t" \
        "ldr %[w], [%[b], #0]\n\t" \
        "ldr %[n], [%[b], #4]\n\t" \
        "ldr %[wa], [%[b], #8]\n\t" \
        "ldr %[wb], [%[b], #12]\n\t" \
        "ldr %[a], [%[b], #16]\n\t" \
        "ldr %[b], [%[b], #20]\n\t" \
        "str %[w], [sp, #0]\n\t" \
        "str %[n], [sp, #4]\n\t" \
        "str %[wa], [sp, #8]\n\t" \
        "str %[wb], [sp, #12]\n\t" \
        "str %[a], [sp, #16]\n\t" \
        "str %[b], [sp, #20]\n\t" \
        "2:\n\t" \
        "ldr %[w], [sp, #0]\n\t" \
        "ldr %[n], [sp, #4]\n\t" \
        "ldr %[c00], [%[w]], #4\n\t" \
        "ldr %[c01], [%[w]], #" past "\n\t" \
        "mov %[c10], %[c00]\n\t" \
        "mov %[c11], %[c01]\n\t" \
        entry \
        loop \
        "ldr %[wa], [%[w]], #4\n\t" \
        "ldr %[wb], [%[w]], #4\n\t" \
        "ldr %[a], [%[w]], #4\n\t" \
        TG_FEW_SHORT("c00") TG_FEW_SHORT("c10") \
        "ldr %[wa], [%[w]], #4\n\t" \
        "ldr %[wb], [%[w]], #4\n\t" \
        "ldr %[a], [%[w]], #4\n\t" \
        TG_FEW_SHORT("c01") TG_FEW_SHORT("c11") \
        "ldr %[a], [sp, #8]\n\t" \
        "ldr %[wa], [sp, #12]\n\t" \
        "ldr %[n], [sp, #20]\n\t" \
        "add %[x], %[x], %[n]\n\t" \
        "ldr %[n], [sp, #16]\n\t" \
        "strb %[c00], [%[a]]\n\t" \
        "strb %[c01], [%[a], #1]\n\t" \
        "strb %[c10], [%[a], %[wa]]\n\t" \
        "add %[a], %[a], %[wa]\n\t" \
        "strb %[c11], [%[a], #1]\n\t" \
        "add %[a], %[a], %[wa]\n\t" \
        "str %[a], [sp, #8]\n\t" \
        "subs %[n], %[n], #1\n\t" \
        "str %[n], [sp, #16]\n\t" \
        "bne 2b\n\t" \
        "add sp, sp, #24" \
        : [c00] "=&r"(c00), [c01] "=&r"(c01), [c10] "=&r"(c10), [c11] "=&r"(c11), [x] "+r"(x), [w] "=&r"(w), \
          [n] "=&r"(n), [wa] "=&r"(wa), [wb] "=&r"(wb), [a] "=&r"(a), [b] "+r"(b) \
        : [d] "r"(d) \
        : "cc", "memory"); \
}
#define TG_FEW_STEPS4 TG_FEW_STEP TG_FEW_STEP TG_FEW_STEP TG_FEW_STEP
TG_FEW_ROW_FAST(tg_few_row_fast, "4", "", TG_FEW_LOOP)
TG_FEW_ROW_FAST(tg_few_row_fast_skip1, "12", TG_FEW_STEP TG_FEW_STEP TG_FEW_STEP, TG_FEW_LOOP)
TG_FEW_ROW_FAST(tg_few_row_fast_skip2, "20", TG_FEW_STEP TG_FEW_STEP, TG_FEW_LOOP)
TG_FEW_ROW_FAST(tg_few_row_fast_skip3, "28", TG_FEW_STEP, TG_FEW_LOOP)
/* 3x3 windows of 3 channels (VWW's, IC's, most RGB first layers): 15 steps, no loop (its 3 SUBS and BNE,
 * 10 cycles a pixel pair, and its count; frame quads unused). */
TG_FEW_ROW_FAST(tg_few_row_fast_15, "12", TG_FEW_STEP TG_FEW_STEP TG_FEW_STEP, TG_FEW_STEPS4 TG_FEW_STEPS4 TG_FEW_STEPS4)
/* clang-format on */

TG_INLINE int8_t tg_few_output(const tg_conv_params *p, int32_t acc, const tg_few_requant *q)
{
    const int32_t v = q->is_short ? tg_dsp_short_any(2 * acc, &q->fast, q->sign_mask)
                                  : tg_dsp_requant(acc, &q->general) + p->output_offset;
    return (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
}

/* The 4 outputs of a channel pair at a pixel pair (x, d: as tg_few_quad_fast; w: the channel pair's packed
 * words) into dst (pixel 0's channels; pixel 1's follow C_out later, when `second`). */
TG_INLINE void tg_few_quad(const tg_conv_params *p, const tg_few_channels *c, const uint32_t *x, int32_t d,
                           const uint32_t *w, int32_t quads, int8_t *dst, int32_t second)
{
    int32_t acc[4];
    acc[0] = acc[2] = c->bias0;
    acc[1] = acc[3] = c->bias1;
    tg_few_mac(x, d, w + 2, quads, acc);
    dst[c->c0] = tg_few_output(p, acc[0], &c->q0);
    if (c->store1) {
        dst[c->c0 + 1] = tg_few_output(p, acc[1], &c->q1);
    }
    if (second) {
        dst[p->output.c + c->c0] = tg_few_output(p, acc[2], &c->q0);
        if (c->store1) {
            dst[p->output.c + c->c0 + 1] = tg_few_output(p, acc[3], &c->q1);
        }
    }
}

/* The four packed results of tg_few_quad_fast into dst (as tg_few_quad). */
TG_INLINE void tg_few_store(uint32_t v, int8_t *dst, int32_t out_c, int32_t store1, int32_t second)
{
    dst[0] = (int8_t)v;
    if (store1) {
        dst[1] = (int8_t)(v >> 8);
    }
    if (second) {
        dst[out_c] = (int8_t)(v >> 16);
        if (store1) {
            dst[out_c + 1] = (int8_t)(v >> 24);
        }
    }
}

/* The layer, or 0 when this variant does not take it. Output row by output row: its KH input rows
 * widened, then channel pairs outer, the row's pixel pairs inner (the "row" and "pair" variants of the
 * compiler run alike: neither needs more scratch than the rows). */
static int32_t tg_few_run(const tg_context *ctx, const tg_conv_few_channels_params *f, const int8_t *input,
                          int8_t *output)
{
    const tg_conv_params *p = &f->conv;
    const int32_t k_h = p->filter.h, row_words = tg_few_row_words(p), steps = tg_few_steps(p);
    const int32_t out_w = p->output.w, out_c = p->output.c, pixel_pairs = (p->output.w + 1) / 2;
    const int32_t odd = tg_few_odd(p), step = p->stride.w * p->input.c;
    const int32_t pad = steps - k_h * tg_few_pairs(p); /* padding steps, first in the packed weights */
    const int32_t skip = pad != 0 && steps >= 8;       /* tg_few_row_fast_skip<pad>: 1 quad less */
    const int32_t channel_words = 2 * steps + 8;       /* of a channel pair in `packed` */
    const uint32_t *packed = (const uint32_t *)f->packed;
    int32_t oy, ky, c0, d;
    uint32_t *rows, *shifted;
    if (p->groups != 1 || p->input.c > 4 || p->dilation.h != 1 || p->dilation.w != 1 || f->packed == NULL ||
        ctx == NULL || ctx->buf == NULL || ctx->size < 4 * tg_few_scratch_words(p)) {
        return 0;
    }
    rows = (uint32_t *)ctx->buf + pad; /* the padding steps read the `pad` words before a window: 0 first */
    shifted = odd ? rows + k_h * row_words : NULL;
    /* A pixel pair's first pixel starts at element 2 q x step (even: in `rows`, word q x step), the second
     * `step` elements later: in `rows` when step is even, else in `shifted` one element earlier. */
    d = 4 * (step % 2 == 0 ? step / 2 * k_h : k_h * row_words + (step - 1) / 2 * k_h);
    memset(ctx->buf, 0, 4 * (size_t)pad);
    for (oy = 0; oy < p->output.h; ++oy) {
        int8_t *out = output + oy * out_w * out_c;
        for (ky = 0; ky < k_h; ++ky) {
            tg_few_widen(p, input, oy * p->stride.h - p->padding.top + ky, rows + ky, odd ? shifted + ky : NULL,
                         row_words, k_h);
        }
        for (c0 = 0; c0 < out_c; c0 += 2) {
            const uint32_t *w = packed + (c0 / 2) * channel_words;
            const int32_t store1 = c0 + 1 < out_c;
            int32_t first = 0, r;
            if (f->fast) {
                if (store1 && out_w >= 2) { /* the pixel pairs of two pixels */
                    tg_few_frame frame;
                    frame.weights = w;
                    frame.quads = steps / 4 - skip;
                    frame.out = out + c0;
                    frame.out_c = out_c;
                    frame.count = out_w / 2;
                    frame.advance = 4 * (step * k_h - steps + (skip ? pad : 0));
                    if (!skip) {
                        tg_few_row_fast(rows - pad, d, &frame);
                    } else if (steps - pad == 15) {
                        tg_few_row_fast_15(rows, d, &frame);
                    } else if (pad == 1) {
                        tg_few_row_fast_skip1(rows, d, &frame);
                    } else if (pad == 2) {
                        tg_few_row_fast_skip2(rows, d, &frame);
                    } else {
                        tg_few_row_fast_skip3(rows, d, &frame);
                    }
                    first = out_w / 2;
                }
                for (r = first; r < pixel_pairs; ++r) {
                    const uint32_t *cursor = w;
                    const int32_t second = 2 * r + 1 < out_w;
                    const uint32_t v = tg_few_quad_fast(rows + r * step * k_h - pad, second ? d : 0, &cursor, steps / 4);
                    tg_few_store(v, out + 2 * r * out_c + c0, out_c, store1, second);
                }
            } else {
                tg_few_channels c;
                tg_few_channels_prepare(p, c0, &c);
                for (r = 0; r < pixel_pairs; ++r) {
                    const int32_t second = 2 * r + 1 < out_w;
                    tg_few_quad(p, &c, rows + r * step * k_h - pad, second ? d : 0, w, steps / 4, out + 2 * r * out_c,
                                second);
                }
            }
        }
    }
    return 1;
}
#endif

void tg_conv_few_channels_s8(const tg_context *ctx, const tg_conv_few_channels_params *params, const int8_t *input,
                             int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_few_run(ctx, params, input, output)) {
        return;
    }
#endif
    tg_conv_s8(ctx, &params->conv, input, output);
}
