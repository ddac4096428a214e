/* tg_conv_block_s8: the output stage shared by the DSP convolution variants (tg_conv_1x1_s8,
 * tg_conv_im2col_s8): every output channel of a block of up to 8 output pixels whose input taps have
 * been widened into `block` (tg_dsp.h layout: per 4 pixels, ceil(taps / 4) groups of 8 words). Bit-exact with
 * tg_conv_s8's arithmetic: acc = bias + sum w * (x + input_offset) in int32, then tg_requantize, the
 * output offset, the clamp. */
#include <stddef.h>

#include "tg_conv.h"
#include "internal/tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_conv_dsp.h"

/* tg_dsp_widen for the convolution variants, out of line (flash): the widening of a block's input. */
void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets)
{
    tg_dsp_widen(dst, 8, src, count, offsets);
}

/* What tg_conv_channels reads and advances, at the byte offsets of its assembly (checked below). */
typedef struct {
    const int8_t *w;           /*  0: weights of output channel c */
    const int32_t *bias;       /*  4 */
    const int32_t *multiplier; /*  8 */
    const int8_t *shift;       /* 12 */
    uintptr_t out;             /* 16: address of the block's first pixel's channel 0 output */
    const uint32_t *block;     /* 20: the widened taps of pixels 0-3 */
    int32_t groups;            /* 24: ceil(taps / 4) */
    int32_t taps;              /* 28: bytes between weight rows */
    int32_t c;                 /* 32: the channel being done */
    int32_t end;               /* 36: the run's end */
    int32_t mask;              /* 40: -1 per channel, 0 per tensor (requantization index = c & mask) */
    int32_t stride;            /* 44: bytes between output pixels (C_out) */
    int32_t offset;            /* 48: the output offset */
    const uint32_t *block2;    /* 52: the widened taps of pixels 4-7, or NULL */
    int32_t requant[3];        /* 56: the channel's short requantization: multiplier, round, shift */
} tg_conv_frame;

typedef char tg_conv_frame_layout[(offsetof(tg_conv_frame, block) == 20 && offsetof(tg_conv_frame, c) == 32 &&
                                   offsetof(tg_conv_frame, offset) == 48 && offsetof(tg_conv_frame, requant) == 56)
                                      ? 1
                                      : -1];

/* clang-format off */
/* The groups of one output channel for 4 pixels (count in r6), numeric labels l1, l3, l4: an odd
 * group, then two groups per iteration (unrolled no deeper: flash). */
#define TG_CONV_MAC(l1, l3, l4)                                                                          \
    "tst r6, #1\n\t"                                                                                     \
    "beq " l1 "f\n\t" TG_MAC_GROUP l1 ":\n\t"                                                           \
    "lsrs r6, r6, #1\n\t"                                                                                \
    "beq " l3 "f\n\t" l4 ":\n\t"                                                                        \
    ".rept 2\n\t" TG_MAC_GROUP ".endr\n\t"                                                              \
    "subs r6, r6, #1\n\t"                                                                                \
    "bne " l4 "b\n\t" l3 ":\n\t"

/* Requantize r0..r3 (short form: r4 multiplier, r5 round, r6 shift) and store them r8 bytes apart
 * from r11. */
#define TG_CONV_STORE1(a)                                                                                \
    "lsl " a ", " a ", #1\n\t"                                                                           \
    "add r10, r5, " a ", asr #31\n\t"                                                                    \
    "smmlar " a ", " a ", r4, r10\n\t"                                                                   \
    "asr " a ", " a ", r6\n\t"                                                                           \
    "ssat " a ", #8, " a "\n\t"                                                                          \
    "strb " a ", [r11]\n\t"
#define TG_CONV_STORE4                                                                                   \
    TG_CONV_STORE1("r0") "add r11, r11, r8\n\t" TG_CONV_STORE1("r1") "add r11, r11, r8\n\t"              \
        TG_CONV_STORE1("r2") "add r11, r11, r8\n\t" TG_CONV_STORE1("r3")

/* Output channels frame->c .. frame->end - 1 of a block of 4 or 8 pixels, all in assembly: per channel
 * and 4 pixels the microkernel (13 instructions per 16 MACs) and 7 instructions per output for the
 * short requantization, derived once per channel from its multiplier and shift (round = 2^(e-1) +
 * offset 2^e); about 60 instructions of bookkeeping per channel. */
static void tg_conv_channels(tg_conv_frame *frame)
{
    register tg_conv_frame *f __asm__("r0") = frame;
    register int32_t a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register const int8_t *wp __asm__("r4");
    register const uint32_t *bp __asm__("r5");
    __asm__ volatile("push {r0}\n\t"
                     "1:\n\t"
                     "ldr r12, [sp]\n\t"
                     "ldr r9, [r12, #32]\n\t"
                     "ldm r12, {r4, r5}\n\t"
                     "ldr r0, [r5, r9, lsl #2]\n\t"
                     "mov r1, r0\n\t"
                     "mov r2, r0\n\t"
                     "mov r3, r0\n\t"
                     "ldr r5, [r12, #20]\n\t"
                     "ldr r6, [r12, #24]\n\t" TG_CONV_MAC("2", "3", "4")
                     "ldr r12, [sp]\n\t"
                     "ldr r9, [r12, #32]\n\t"
                     "ldr r10, [r12, #40]\n\t"
                     "and r10, r10, r9\n\t"
                     "ldr r4, [r12, #8]\n\t"
                     "ldr r4, [r4, r10, lsl #2]\n\t"
                     "ldr r6, [r12, #12]\n\t"
                     "ldrsb r6, [r6, r10]\n\t"
                     "rsb r6, r6, #0\n\t"
                     "movs r5, #1\n\t"
                     "lsl r5, r5, r6\n\t"
                     "lsr r10, r5, #1\n\t"
                     "ldr r8, [r12, #48]\n\t"
                     "mla r5, r8, r5, r10\n\t"
                     "add r10, r12, #56\n\t"
                     "stm r10, {r4, r5, r6}\n\t"
                     "ldr r8, [r12, #44]\n\t"
                     "ldr r11, [r12, #16]\n\t"
                     "add r11, r11, r9\n\t" TG_CONV_STORE4
                     "ldr r5, [r12, #52]\n\t"
                     "cmp r5, #0\n\t"
                     "beq 9f\n\t"
                     "ldr r9, [r12, #32]\n\t"
                     "ldm r12, {r4, r6}\n\t"
                     "ldr r0, [r6, r9, lsl #2]\n\t"
                     "mov r1, r0\n\t"
                     "mov r2, r0\n\t"
                     "mov r3, r0\n\t"
                     "ldr r6, [r12, #24]\n\t" TG_CONV_MAC("5", "6", "7")
                     "ldr r12, [sp]\n\t"
                     "add r10, r12, #56\n\t"
                     "ldm r10, {r4, r5, r6}\n\t"
                     "ldr r8, [r12, #44]\n\t"
                     "ldr r11, [r12, #16]\n\t"
                     "ldr r9, [r12, #32]\n\t"
                     "add r11, r11, r9\n\t"
                     "add r11, r11, r8, lsl #2\n\t" TG_CONV_STORE4
                     "9:\n\t" /* r12: the frame, r9: c (the stores keep both) */
                     "adds r9, r9, #1\n\t"
                     "str r9, [r12, #32]\n\t"
                     "ldr r4, [r12]\n\t"
                     "ldr r10, [r12, #28]\n\t"
                     "add r4, r4, r10\n\t"
                     "str r4, [r12]\n\t"
                     "ldr r10, [r12, #36]\n\t"
                     "cmp r9, r10\n\t"
                     "bne 1b\n\t"
                     "add sp, sp, #4"
                     : [a0] "+r"(f), [a1] "=r"(a1), [a2] "=r"(a2), [a3] "=r"(a3), [wp] "=r"(wp), [bp] "=r"(bp)
                     :
                     : "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}
/* clang-format on */

/* acc[p] += w . x_p for the block's 4 pixels (tg_dsp_mac_1x4), out of line. */
static void tg_conv_mac(int32_t acc[4], const int8_t *w, const uint32_t *block, int32_t groups)
{
    tg_dsp_mac_1x4(acc, w, block, groups);
}

/* Is every weight of the row 0 (a dead output channel, whose output is a constant)? */
static int32_t tg_conv_zero_row(const int8_t *w, int32_t count)
{
    int32_t i;
    for (i = 0; i + 4 <= count; i += 4) {
        if (tg_read_u32(w + i) != 0) {
            return 0;
        }
    }
    for (; i < count; ++i) {
        if (w[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Per output channel, once per layer: kinds[2c] = TG_CONV_SHORT (the short requantization applies),
 * TG_CONV_DEAD (all weights 0: the output is the constant kinds[2c + 1]) or TG_CONV_GENERAL. */
TG_COLD void tg_conv_classify(const tg_conv_params *p, int8_t *kinds)
{
    const int32_t taps = p->filter.h * p->filter.w * p->filter.c;
    const int32_t layer_short = p->accumulator_bits <= 29 && p->activation_min <= -128 && p->activation_max >= 127;
    int32_t c;
    for (c = 0; c < p->output.c; ++c) {
        const int32_t q = p->per_channel ? c : 0;
        const int8_t *w = tg_conv_weights_of(p, c, taps);
        const int32_t v = tg_requantize(p->bias ? p->bias[c] : 0, p->multiplier[q], p->shift[q]) + p->output_offset;
        kinds[2 * c + 1] = 0;
        if (w != NULL && layer_short && tg_dsp_short_applies(29, p->shift[q])) {
            kinds[2 * c] = TG_CONV_SHORT;
        } else if (w == NULL || tg_conv_zero_row(w, taps)) {
            /* Dead (not stored, or all zero): the output is the requantized bias. */
            kinds[2 * c] = TG_CONV_DEAD;
            kinds[2 * c + 1] = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
        } else {
            kinds[2 * c] = TG_CONV_GENERAL;
        }
    }
    /* A short channel's second byte: how many channels from it the assembly loop takes in one run (short
     * ones, whose rows follow each other; not the last stored row), at most 127. */
    for (c = p->output.c - 1; c >= 0; --c) {
        if (kinds[2 * c] == TG_CONV_SHORT && !tg_conv_last_row(p, c)) {
            const int32_t next = c + 1 < p->output.c && kinds[2 * c + 2] == TG_CONV_SHORT ? kinds[2 * c + 3] : 0;
            kinds[2 * c + 1] = (int8_t)TG_MIN(127, next + 1);
        }
    }
}

/* Output channel oc of the block in C: the last channel (whose partial last group must not read past
 * the weights), dead channels, channels that need the general requantization, layers without bias.
 * out: the channel's output for the block's first pixel; stride: bytes between pixels. */
static void tg_conv_channel(const tg_conv_params *p, int32_t oc, const int8_t *kind, const uint32_t *block,
                            int32_t half, int32_t taps, int8_t *out, int32_t stride, int32_t valid)
{
    const int32_t groups = taps >> 2, tail = taps & 3;
    const int32_t q = p->per_channel ? oc : 0;
    const int8_t *w = tg_conv_weights_of(p, oc, taps);
    /* With a partial last group, every row but the last stored reads its group whole: the bytes
     * past the row (the next row's first weights) meet widened zeros. */
    const int32_t whole = tail > 0 && !tg_conv_last_row(p, oc) ? groups + 1 : groups;
    int32_t first, j;
    for (first = 0; first < valid; first += 4, block += half) {
        const int32_t n = TG_MIN(4, valid - first);
        int32_t acc[4];
        if (kind[0] == TG_CONV_DEAD) {
            for (j = 0; j < n; ++j, out += stride) {
                *out = kind[1];
            }
            continue;
        }
        for (j = 0; j < 4; ++j) {
            acc[j] = p->bias ? p->bias[oc] : 0;
        }
        if (whole > 0) {
            tg_conv_mac(acc, w, block, whole);
        }
        if (whole == groups && tail > 0) {
            const uint32_t tail_weights = tg_dsp_read_partial(w + 4 * groups, tail, 0);
            tg_conv_mac(acc, (const int8_t *)&tail_weights, block + 8 * groups, 1);
        }
        if (kind[0] == TG_CONV_SHORT) {
            tg_dsp_short_t s;
            tg_dsp_short_prepare(&s, p->multiplier[q], p->shift[q], p->output_offset);
            for (j = 0; j < n; ++j, out += stride) {
                *out = (int8_t)tg_ssat8(tg_dsp_short(2 * acc[j], &s));
            }
        } else {
            for (j = 0; j < n; ++j, out += stride) {
                const int32_t v = tg_requantize(acc[j], p->multiplier[q], p->shift[q]) + p->output_offset;
                *out = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
            }
        }
    }
}

/* Output channels [c_begin, c_end) of a block of `valid` (<= 8) output pixels: (pixel j, channel oc) goes
 * to out[j * stride + oc - c_begin]; pixels 4-7 are widened `half` words after pixels 0-3. Runs of
 * channels with the short requantization go to the assembly loop, the others to C. */
void tg_conv_block_range_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t half,
                            int32_t taps, int8_t *out, int32_t stride, int32_t c_begin, int32_t c_end, int32_t valid)
{
    const int32_t runs = p->bias != NULL && (valid == 4 || valid == 8);
    int32_t oc = c_begin;
    while (oc < c_end) {
        /* Runs hold live channels only, so their rows are consecutive; the last stored row is
         * left to C (the assembly reads whole groups past a row's end): tg_conv_classify. */
        const int32_t end = runs && kinds[2 * oc] == TG_CONV_SHORT ? TG_MIN(c_end, oc + kinds[2 * oc + 1]) : oc;
        if (end > oc) {
            tg_conv_frame frame;
            frame.w = tg_conv_weights_of(p, oc, taps);
            frame.bias = p->bias;
            frame.multiplier = p->multiplier;
            frame.shift = p->shift;
            /* the assembly stores channel c at out + c: an address, never dereferenced below out */
            frame.out = (uintptr_t)out - (uintptr_t)c_begin;
            frame.block = block;
            frame.groups = (taps + 3) >> 2;
            frame.taps = taps;
            frame.c = oc;
            frame.end = end;
            frame.mask = p->per_channel ? -1 : 0;
            frame.stride = stride;
            frame.offset = p->output_offset;
            frame.block2 = valid == 8 ? block + half : NULL;
            tg_conv_channels(&frame);
            oc = end;
            continue;
        }
        tg_conv_channel(p, oc, kinds + 2 * oc, block, half, taps, out + (oc - c_begin), stride, valid);
        ++oc;
    }
}

/* out[j * C_out + oc] for j < valid (<= 8), every oc; out points at the block's first output pixel. */
void tg_conv_block_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t half,
                      int32_t taps, int8_t *out, int32_t valid)
{
    tg_conv_block_range_s8(p, kinds, block, half, taps, out, p->output.c, 0, p->output.c, valid);
}

#else
typedef int tg_conv_block_s8_needs_dsp; /* (ISO C forbids an empty file) */
#endif
