/* tg_conv_block_s8: the output stage shared by the DSP convolution variants (tg_conv_1x1_s8,
 * tg_conv_im2col_s8): every output channel of a block of up to 8 output pixels whose input taps have
 * been widened into `block` (tg_dsp.h layout: per 4 pixels, ceil(taps / 4) groups of 8 words).
 * Bit-exact with tg_conv_s8's arithmetic: acc = bias + sum w * (x + input_offset) in int32, then
 * tg_requantize, output offset, clamp. */
#include <stddef.h>

#include "tg_conv.h"
#include "tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)

/* tg_dsp_widen for the convolution variants, out of line (flash): the widening of a block's input. */
void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets)
{
    tg_dsp_widen(dst, 8, src, count, offsets);
}

/* Per output channel (one per tensor): the short requantization and the output pixel stride, read by
 * the assembly below; shift 0 marks a channel that needs the general requantization, shift -1 a dead
 * channel (zero weights) whose output is the constant `round`. */
typedef struct {
    int32_t multiplier;
    int32_t round;
    int32_t shift;
    int32_t stride; /* bytes between output pixels: C_out */
} tg_conv_requant;

typedef char tg_conv_requant_layout[sizeof(tg_conv_requant) == 16 ? 1 : -1];

TG_COLD static int32_t tg_conv_zero_row(const int8_t *w, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        if (w[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Returns 1 when some channel takes the short form. */
TG_COLD int32_t tg_conv_requant_table(const tg_conv_params *p, void *table_memory)
{
    tg_conv_requant *table = (tg_conv_requant *)table_memory;
    const int32_t channels = p->per_channel ? p->output.c : 1;
    const int32_t full = p->activation_min <= -128 && p->activation_max >= 127;
    const int32_t taps = p->filter.h * p->filter.w * p->filter.c;
    int32_t c, any_short = 0;
    for (c = 0; c < channels; ++c) {
        table[c].stride = p->output.c;
        if (full && tg_dsp_short_applies(p->accumulator_bits, p->shift[c])) {
            tg_dsp_short_t q;
            tg_dsp_short_prepare(&q, p->multiplier[c], p->shift[c], p->output_offset);
            table[c].multiplier = q.multiplier;
            table[c].round = q.round;
            table[c].shift = q.shift;
            any_short = 1;
        } else if (p->per_channel && tg_conv_zero_row(p->weights + c * taps, taps)) {
            /* a dead channel (all weights 0): its output is one constant */
            const int32_t v = tg_requantize(p->bias ? p->bias[c] : 0, p->multiplier[c], p->shift[c]) + p->output_offset;
            table[c].shift = -1;
            table[c].round = TG_CLAMP(v, p->activation_min, p->activation_max);
        } else {
            table[c].shift = 0;
        }
    }
    return any_short;
}

/* acc[p] += w . x_p for the 4 pixels of a half block (tg_dsp_mac_1x4), out of line: the
 * assembly loop below does the common case, this serves the rest (the last channel of a block, a
 * partial block, channels needing the general requantization). */
static void tg_conv_mac(int32_t acc[4], const int8_t *w, const uint32_t *block, int32_t groups)
{
    tg_dsp_mac_1x4(acc, w, block, groups);
}

/* What tg_conv_channels reads and advances, at the byte offsets of its assembly (checked below). */
typedef struct {
    const int8_t *w;               /*  0: weights of the current output channel */
    const int32_t *bias;           /*  4 */
    const tg_conv_requant *table;  /*  8 */
    int8_t *out;                   /* 12: the channel's output at the block's first pixel */
    const uint32_t *block[2];      /* 16: widened taps of pixels 0-3 and 4-7 (NULL: 4 pixels only) */
    int32_t groups;                /* 24 */
    int32_t taps;                  /* 28: bytes between weight rows */
    int32_t table_step;            /* 32: 16 per channel, 0 per tensor */
    int32_t channels;              /* 36: left to do */
} tg_conv_frame;

typedef char tg_conv_frame_layout[(offsetof(tg_conv_frame, block) == 16 && offsetof(tg_conv_frame, groups) == 24 &&
                                   offsetof(tg_conv_frame, channels) == 36)
                                      ? 1
                                      : -1];

/* The groups of one output channel for 4 pixels (count in r6), numeric labels l1..l4: an odd group,
 * then two groups per iteration (unrolled no deeper: flash). */
#define TG_CONV_MAC(l1, l2, l3, l4)                                                                      \
    "tst r6, #1\n\t"                                                                                     \
    "beq " l1 "f\n\t" TG_MAC_GROUP l1 ":\n\t"                                                           \
    "lsrs r6, r6, #1\n\t"                                                                                \
    "beq " l3 "f\n\t" l4 ":\n\t" TG_MAC_GROUP TG_MAC_GROUP                                               \
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

/* Every output channel in frame->channels for the block's 4 or 8 pixels, all in assembly (short
 * requantization, whole groups): per channel and 4 pixels the microkernel, 7 instructions per output
 * and about 25 of bookkeeping. */
static void tg_conv_channels(tg_conv_frame *frame)
{
    register tg_conv_frame *f __asm__("r0") = frame;
    register int32_t a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register const int8_t *wp __asm__("r4");
    register const uint32_t *bp __asm__("r5");
    __asm__ volatile("push {r0}\n\t"
                     "1:\n\t"
                     "ldr r12, [sp]\n\t"
                     "ldm r12, {r4, r5}\n\t"
                     "ldr r0, [r5]\n\t"
                     "mov r1, r0\n\t"
                     "mov r2, r0\n\t"
                     "mov r3, r0\n\t"
                     "ldr r5, [r12, #16]\n\t"
                     "ldr r6, [r12, #24]\n\t" TG_CONV_MAC("2", "3", "4", "5")
                     "ldr r12, [sp]\n\t"
                     "ldr lr, [r12, #8]\n\t"
                     "ldm lr, {r4, r5, r6, r8}\n\t"
                     "ldr r11, [r12, #12]\n\t" TG_CONV_STORE4
                     "ldr r12, [sp]\n\t"
                     "ldr r5, [r12, #20]\n\t"
                     "cmp r5, #0\n\t"
                     "beq 9f\n\t"
                     "ldm r12, {r4, r6}\n\t"
                     "ldr r0, [r6]\n\t"
                     "mov r1, r0\n\t"
                     "mov r2, r0\n\t"
                     "mov r3, r0\n\t"
                     "ldr r6, [r12, #24]\n\t" TG_CONV_MAC("6", "7", "8", "10")
                     "ldr r12, [sp]\n\t"
                     "ldr lr, [r12, #8]\n\t"
                     "ldm lr, {r4, r5, r6, r8}\n\t"
                     "ldr r11, [r12, #12]\n\t"
                     "add r11, r11, r8, lsl #2\n\t" TG_CONV_STORE4
                     "9:\n\t"
                     "ldr r12, [sp]\n\t"
                     "ldm r12, {r4, r5, r6, r8}\n\t"
                     "ldr r9, [r12, #28]\n\t"
                     "add r4, r4, r9\n\t"
                     "add r5, r5, #4\n\t"
                     "ldr r9, [r12, #32]\n\t"
                     "add r6, r6, r9\n\t"
                     "add r8, r8, #1\n\t"
                     "stm r12, {r4, r5, r6, r8}\n\t"
                     "ldr r9, [r12, #36]\n\t"
                     "subs r9, r9, #1\n\t"
                     "str r9, [r12, #36]\n\t"
                     "bne 1b\n\t"
                     "add sp, sp, #4"
                     : [a0] "+r"(f), [a1] "=r"(a1), [a2] "=r"(a2), [a3] "=r"(a3), [wp] "=r"(wp), [bp] "=r"(bp)
                     :
                     : "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* Requantize n accumulators of channel oc and store them C_out bytes apart from out. */
static void tg_conv_store(const tg_conv_params *p, const tg_conv_requant *q, int32_t oc, const int32_t *acc,
                          int32_t n, int8_t *out)
{
    int32_t j;
    if (q->shift > 0) {
        tg_dsp_short_t s;
        s.multiplier = q->multiplier;
        s.round = q->round;
        s.shift = q->shift;
        for (j = 0; j < n; ++j, out += p->output.c) {
            *out = (int8_t)tg_ssat8(tg_dsp_short(2 * acc[j], &s));
        }
    } else {
        const int32_t r = p->per_channel ? oc : 0;
        for (j = 0; j < n; ++j, out += p->output.c) {
            const int32_t v = tg_requantize(acc[j], p->multiplier[r], p->shift[r]) + p->output_offset;
            *out = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
        }
    }
}

/* Output channel oc of the block in C: the last channel of a block (whose partial last group must not
 * read past the weights), partial blocks, channels that need the general requantization. */
static void tg_conv_channel(const tg_conv_params *p, const tg_conv_requant *q, int32_t oc, const uint32_t *block,
                            int32_t taps, int8_t *out, int32_t valid)
{
    const int32_t out_c = p->output.c, groups = taps >> 2, tail = taps & 3;
    const int32_t half = 8 * ((taps + 3) >> 2); /* words of 4 pixels */
    const int8_t *w = p->weights + oc * taps;
    /* With a partial last group, every row but the last reads its group whole: the bytes past the
     * row (the next row's first weights) meet widened zeros. */
    const int32_t whole = tail > 0 && oc + 1 < out_c ? groups + 1 : groups;
    int32_t first;
    for (first = 0; first < valid; first += 4, block += half) {
        int32_t acc[4], j;
        if (q->shift == -1) { /* a dead channel: its constant */
            for (j = first; j < valid; ++j) {
                out[j * out_c + oc] = (int8_t)q->round;
            }
            return;
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
        tg_conv_store(p, q, oc, acc, TG_MIN(4, valid - first), out + first * out_c + oc);
    }
}

/* out[j * C_out + oc] for j < valid (<= 8), every oc; out points at the block's first output pixel.
 * Runs of channels with the short requantization go to the assembly loop, the others to C. */
void tg_conv_block_s8(const tg_conv_params *p, const void *table_memory, int32_t any_short, const uint32_t *block,
                      int32_t taps, int8_t *out, int32_t valid)
{
    const tg_conv_requant *table = (const tg_conv_requant *)table_memory;
    const int32_t out_c = p->output.c, step = p->per_channel ? 1 : 0;
    const int32_t runs = any_short && p->bias != NULL && (valid == 4 || valid == 8);
    int32_t oc = 0;
    while (oc < out_c) {
        int32_t end = oc;
        while (runs && end < out_c - 1 && table[end * step].shift > 0) {
            ++end;
        }
        if (end > oc) {
            tg_conv_frame frame;
            frame.w = p->weights + oc * taps;
            frame.bias = p->bias + oc;
            frame.table = table + oc * step;
            frame.out = out + oc;
            frame.block[0] = block;
            frame.block[1] = valid == 8 ? block + 8 * ((taps + 3) >> 2) : NULL;
            frame.groups = (taps + 3) >> 2;
            frame.taps = taps;
            frame.table_step = 16 * step;
            frame.channels = end - oc;
            tg_conv_channels(&frame);
            oc = end;
            continue;
        }
        tg_conv_channel(p, table + oc * step, oc, block, taps, out, valid);
        ++oc;
    }
}

#else
typedef int tg_conv_block_s8_needs_dsp; /* (ISO C forbids an empty file) */
#endif
