/* tg_depthwise_conv_3x3_s8: depthwise 3x3 convolution (channel multiplier 1, no dilation; any stride
 * and padding). Must equal tg_depthwise_conv_s8 (the plain C reference), and falls back to it on
 * cores without the DSP extension and for other shapes.
 *
 * DSP: 4 channels at a time; the input rows widened to int16 (+ input offset) once per channel group
 * into 3 row buffers that roll down the input (a row still needed by the next output row stays where
 * it is; no other row is kept), padding columns and rows as 0. The 9 taps' weights are widened once
 * per group. An output row runs in assembly loops with the short requantization (tg_dsp.h; weights
 * and bias doubled, so the accumulators hold 2 acc):
 *   - stride 1 or 2: two output pixels per iteration, so each weight word loaded serves both; the
 *     loads of a tap (weights, pixel A, pixel B) run back to back, where the Cortex-M4 pipelines
 *     them (1 cycle each after the first), and each lane's requantization constants are loaded once
 *     for both pixels: about 236 cycles per 2 pixels and 4 channels (72 MACs); at stride 1 pixel B's
 *     taps are A's shifted by a column, so each input word is loaded once: about 224 cycles;
 *   - the last pixel of an odd row, and other strides: one pixel per iteration (two LDRD and four
 *     16 x 16 multiply-accumulates per tap; about 155 cycles per pixel and 4 channels).
 * Layers it does not take (channels not a multiple of 4, a clamp inside int8, a requantization
 * outside the short form) go to the plain kernel. */
#include <stddef.h>

#include "tg_conv.h"
#include "internal/tg_dsp.h"

/* The 3 widened row buffers. */
TG_INLINE int32_t tg_dw3x3_slots_bytes(const tg_conv_params *params)
{
    return 8 * 3 * ((params->output.w - 1) * params->stride.w + 3);
}

int32_t tg_depthwise_conv_3x3_s8_get_buffer_size(const tg_conv_params *params)
{
    /* the row slots, or the fallback's ring of input pixels in place */
    return TG_MAX(tg_dw3x3_slots_bytes(params), tg_depthwise_conv_s8_get_buffer_size(params));
}

#if defined(__ARM_FEATURE_DSP)
/* What the row loop reads, at the byte offsets its assembly uses (checked below). */
typedef struct {
    uint32_t weights[9][2]; /*   0: widened (and, for the row loop, doubled) weights of the 9 taps */
    int32_t bias[4];        /*  72: per lane (doubled for the row loop) */
    tg_dsp_short_t rq[4];   /*  88: per lane {multiplier, round, shift} */
    int32_t step;           /* 136: bytes between the windows of neighbouring output pixels */
    int32_t channels;       /* 140: bytes between output pixels */
    int32_t count;          /* 144: output pixels left in the row */
    const uint32_t *row[3]; /* 148: the window's rows at its first column */
    int8_t *out;            /* 160 */
} tg_dw3x3_frame;

typedef char tg_dw3x3_frame_layout[(offsetof(tg_dw3x3_frame, bias) == 72 && offsetof(tg_dw3x3_frame, rq) == 88 &&
                                    offsetof(tg_dw3x3_frame, step) == 136 && offsetof(tg_dw3x3_frame, row) == 148 &&
                                    offsetof(tg_dw3x3_frame, out) == 160)
                                       ? 1
                                       : -1];

/* clang-format off */
/* One tap: input column words at [row + offset], weights at [frame + 8 * tap]. */
#define TG_DW_TAP(row, offset, tap)                                                                      \
    "ldrd r4, r5, [" row ", #" offset "]\n\t"                                                           \
    "ldrd r6, r8, [r12, #" tap "]\n\t"                                                                  \
    "smlabb r0, r6, r4, r0\n\t"                                                                          \
    "smlatt r2, r6, r4, r2\n\t"                                                                          \
    "smlabb r1, r8, r5, r1\n\t"                                                                          \
    "smlatt r3, r8, r5, r3\n\t"

/* Lane a (accumulator register, holding 2 acc) requantized by rq[lane] and stored at out[lane]. */
#define TG_DW_STORE(a, rq, lane)                                                                         \
    "ldrd r4, r5, [r12, #" rq "]\n\t"                                                                   \
    "ldr r6, [r12, #" rq "+8]\n\t"                                                                      \
    "add r5, r5, " a ", asr #31\n\t"                                                                    \
    "smmlar " a ", " a ", r4, r5\n\t"                                                                   \
    "asr " a ", " a ", r6\n\t"                                                                          \
    "ssat " a ", #8, " a "\n\t"                                                                         \
    "strb " a ", [lr, #" lane "]\n\t"

/* The output pixels of a row left in the frame (frame->count of them, maybe 0), one per iteration. */
#define TG_DW_SINGLES                                                                                    \
    "ldr r4, [r12, #144]\n\t"                                                                           \
    "cmp r4, #0\n\t"                                                                                    \
    "beq 5f\n\t"                                                                                        \
    "ldr r9, [r12, #148]\n\t"                                                                           \
    "ldr r10, [r12, #152]\n\t"                                                                          \
    "ldr r11, [r12, #156]\n\t"                                                                          \
    "ldr lr, [r12, #160]\n\t"                                                                           \
    "4:\n\t"                                                                                             \
    "ldrd r0, r1, [r12, #72]\n\t"                                                                       \
    "ldrd r2, r3, [r12, #80]\n\t"                                                                       \
    TG_DW_TAP("r9", "0", "0") TG_DW_TAP("r9", "8", "8") TG_DW_TAP("r9", "16", "16")                     \
    TG_DW_TAP("r10", "0", "24") TG_DW_TAP("r10", "8", "32") TG_DW_TAP("r10", "16", "40")                \
    TG_DW_TAP("r11", "0", "48") TG_DW_TAP("r11", "8", "56") TG_DW_TAP("r11", "16", "64")                \
    TG_DW_STORE("r0", "88", "0") TG_DW_STORE("r1", "100", "1")                                           \
    TG_DW_STORE("r2", "112", "2") TG_DW_STORE("r3", "124", "3")                                          \
    "ldr r4, [r12, #136]\n\t"                                                                           \
    "add r9, r9, r4\n\t"                                                                                \
    "add r10, r10, r4\n\t"                                                                              \
    "add r11, r11, r4\n\t"                                                                              \
    "ldr r4, [r12, #140]\n\t"                                                                           \
    "add lr, lr, r4\n\t"                                                                                \
    "ldr r4, [r12, #144]\n\t"                                                                           \
    "subs r4, r4, #1\n\t"                                                                               \
    "str r4, [r12, #144]\n\t"                                                                           \
    "bne 4b\n\t"                                                                                        \
    "5:\n\t"

/* One tap for two pixels, one word (even or odd) of it: the weights at [frame + w], pixel A's input
 * at [lr + x], pixel B's `b` bytes further; the three loads back to back (they pipeline). a0 / a1:
 * pixel A's accumulators of the word's bottom / top lane, b0 / b1 pixel B's. */
#define TG_DW_PAIR_WORD(x, b, w, a0, a1, b0, b1)                                                         \
    "ldr r9, [r12, #" w "]\n\t"                                                                         \
    "ldr r10, [lr, #" x "]\n\t"                                                                         \
    "ldr r11, [lr, #" x "+" b "]\n\t"                                                                  \
    "smlabb " a0 ", r9, r10, " a0 "\n\t"                                                               \
    "smlatt " a1 ", r9, r10, " a1 "\n\t"                                                               \
    "smlabb " b0 ", r9, r11, " b0 "\n\t"                                                               \
    "smlatt " b1 ", r9, r11, " b1 "\n\t"

/* Tap (row at lr, column offset x, weights w) for pixels A (r0..r3) and B (r4, r5, r6, r8). */
#define TG_DW_PAIR_TAP(x, b, w)                                                                          \
    TG_DW_PAIR_WORD(x, b, w, "r0", "r2", "r4", "r6")                                                     \
    TG_DW_PAIR_WORD(x "+4", b, w "+4", "r1", "r3", "r5", "r8")

/* The 3 taps of window row k (its pointer at frame + 148 + 4k, weights from tap 3k). */
#define TG_DW_PAIR_ROW(row, b, w0, w1, w2)                                                               \
    "ldr lr, [r12, #" row "]\n\t"                                                                       \
    TG_DW_PAIR_TAP("0", b, w0) TG_DW_PAIR_TAP("8", b, w1) TG_DW_PAIR_TAP("16", b, w2)

/* Stride 1, one word (even or odd: column offset x, weights w, accumulators as TG_DW_PAIR_WORD) of
 * window row k for pixels A and B: B's tap t is A's tap t + 1, so the 4 columns are each loaded once
 * (6 loads instead of 9, in runs of 3 and 2). */
#define TG_DW_ADJ_WORD(x, w, a0, a1, b0, b1)                                                              \
    "ldr r9, [r12, #" w "]\n\t"                                                                         \
    "ldr r10, [lr, #" x "]\n\t"                                                                         \
    "ldr r11, [lr, #" x "+8]\n\t"                                                                       \
    "smlabb " a0 ", r9, r10, " a0 "\n\t"                                                               \
    "smlatt " a1 ", r9, r10, " a1 "\n\t"                                                               \
    "smlabb " b0 ", r9, r11, " b0 "\n\t"                                                               \
    "smlatt " b1 ", r9, r11, " b1 "\n\t"                                                               \
    "ldr r9, [r12, #" w "+8]\n\t"                                                                       \
    "ldr r10, [lr, #" x "+16]\n\t"                                                                      \
    "smlabb " a0 ", r9, r11, " a0 "\n\t"                                                               \
    "smlatt " a1 ", r9, r11, " a1 "\n\t"                                                               \
    "smlabb " b0 ", r9, r10, " b0 "\n\t"                                                               \
    "smlatt " b1 ", r9, r10, " b1 "\n\t"                                                               \
    "ldr r9, [r12, #" w "+16]\n\t"                                                                      \
    "ldr r11, [lr, #" x "+24]\n\t"                                                                      \
    "smlabb " a0 ", r9, r10, " a0 "\n\t"                                                               \
    "smlatt " a1 ", r9, r10, " a1 "\n\t"                                                               \
    "smlabb " b0 ", r9, r11, " b0 "\n\t"                                                               \
    "smlatt " b1 ", r9, r11, " b1 "\n\t"

/* Window row k for pixels A and B at stride 1 (the row's pointer at frame + 148 + 4k; weights from
 * tap 3k at frame + 24k). */
#define TG_DW_ADJ_ROW(row, w)                                                                            \
    "ldr lr, [r12, #" row "]\n\t"                                                                       \
    TG_DW_ADJ_WORD("0", w, "r0", "r2", "r4", "r6") TG_DW_ADJ_WORD("4", w "+4", "r1", "r3", "r5", "r8")

/* The three window rows for pixels A and B, any stride of 1 or 2 (B `b` bytes after A). */
#define TG_DW_PAIR_ROWS(b)                                                                               \
    TG_DW_PAIR_ROW("148", b, "0", "8", "16") TG_DW_PAIR_ROW("152", b, "24", "32", "40")                  \
    TG_DW_PAIR_ROW("156", b, "48", "56", "64")

/* The same at stride 1. */
#define TG_DW_ADJ_ROWS TG_DW_ADJ_ROW("148", "0") TG_DW_ADJ_ROW("152", "24") TG_DW_ADJ_ROW("156", "48")

/* Lane (constants at frame + rq) of pixels A (accumulator a) and B (b): requantized, offset and
 * saturated to int8, left in a and b. The constants are loaded once for both. */
#define TG_DW_PAIR_REQUANT(rq, a, b)                                                                     \
    "ldr r9, [r12, #" rq "]\n\t"                                                                        \
    "ldr r10, [r12, #" rq "+4]\n\t"                                                                     \
    "ldr r11, [r12, #" rq "+8]\n\t"                                                                     \
    "add lr, r10, " a ", asr #31\n\t"                                                                  \
    "smmlar " a ", " a ", r9, lr\n\t"                                                                   \
    "asr " a ", " a ", r11\n\t"                                                                         \
    "ssat " a ", #8, " a "\n\t"                                                                         \
    "add lr, r10, " b ", asr #31\n\t"                                                                  \
    "smmlar " b ", " b ", r9, lr\n\t"                                                                   \
    "asr " b ", " b ", r11\n\t"                                                                         \
    "ssat " b ", #8, " b "\n\t"

/* Output pixels in pairs while frame->count >= 2 (none if it is less): `rows` multiply-accumulates the
 * window (TG_DW_ADJ_ROWS at stride 1, TG_DW_PAIR_ROWS(8 x stride) at stride 2), and the window advances
 * by b2 = 16 x stride bytes per pair; row, out and count are left at the first pixel not done. */
#define TG_DW_PAIRS(rows, b2)                                                                            \
    "ldr lr, [r12, #144]\n\t"                                                                           \
    "cmp lr, #2\n\t"                                                                                    \
    "blt 2f\n\t"                                                                                        \
    "1:\n\t"                                                                                             \
    "ldrd r0, r1, [r12, #72]\n\t"                                                                       \
    "ldrd r2, r3, [r12, #80]\n\t"                                                                       \
    "mov r4, r0\n\t"                                                                                     \
    "mov r5, r1\n\t"                                                                                     \
    "mov r6, r2\n\t"                                                                                     \
    "mov r8, r3\n\t"                                                                                     \
    rows                                                                                                 \
    TG_DW_PAIR_REQUANT("88", "r0", "r4") TG_DW_PAIR_REQUANT("100", "r1", "r5")                           \
    TG_DW_PAIR_REQUANT("112", "r2", "r6") TG_DW_PAIR_REQUANT("124", "r3", "r8")                          \
    "ldr lr, [r12, #160]\n\t"                                                                           \
    "ldr r9, [r12, #140]\n\t"                                                                           \
    "strb r0, [lr, #0]\n\t"                                                                             \
    "strb r1, [lr, #1]\n\t"                                                                             \
    "strb r2, [lr, #2]\n\t"                                                                             \
    "strb r3, [lr, #3]\n\t"                                                                             \
    "add lr, lr, r9\n\t"                                                                                \
    "strb r4, [lr, #0]\n\t"                                                                             \
    "strb r5, [lr, #1]\n\t"                                                                             \
    "strb r6, [lr, #2]\n\t"                                                                             \
    "strb r8, [lr, #3]\n\t"                                                                             \
    "add lr, lr, r9\n\t"                                                                                \
    "str lr, [r12, #160]\n\t"                                                                           \
    "ldr r9, [r12, #148]\n\t"                                                                           \
    "ldr r10, [r12, #152]\n\t"                                                                          \
    "ldr r11, [r12, #156]\n\t"                                                                          \
    "ldr lr, [r12, #144]\n\t"                                                                           \
    "add r9, r9, #" b2 "\n\t"                                                                           \
    "add r10, r10, #" b2 "\n\t"                                                                         \
    "add r11, r11, #" b2 "\n\t"                                                                         \
    "subs lr, lr, #2\n\t"                                                                               \
    "str r9, [r12, #148]\n\t"                                                                           \
    "str r10, [r12, #152]\n\t"                                                                          \
    "str r11, [r12, #156]\n\t"                                                                          \
    "str lr, [r12, #144]\n\t"                                                                           \
    "cmp lr, #2\n\t"                                                                                    \
    "bge 1b\n\t"                                                                                        \
    "2:\n\t"

/* The frame->count output pixels of a row: in pairs for strides 1 and 2, then one by one. */
TG_INLINE void tg_dw3x3_row(tg_dw3x3_frame *frame, int32_t stride)
{
    register tg_dw3x3_frame *f __asm__("r12") = frame;
    if (stride == 1) {
        __asm__ volatile(TG_DW_PAIRS(TG_DW_ADJ_ROWS, "16") TG_DW_SINGLES
                         :
                         : "r"(f)
                         : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "lr", "cc", "memory");
    } else if (stride == 2) {
        __asm__ volatile(TG_DW_PAIRS(TG_DW_PAIR_ROWS("16"), "32") TG_DW_SINGLES
                         :
                         : "r"(f)
                         : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "lr", "cc", "memory");
    } else {
        __asm__ volatile(TG_DW_SINGLES
                         :
                         : "r"(f)
                         : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "lr", "cc", "memory");
    }
}
/* clang-format on */

/* Lane-wise x + x of two int16 lanes. */
TG_INLINE uint32_t tg_dw_double(uint32_t x)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %1"
            : "=r"(r)
            : "r"(x));
    return r;
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* The shape and arithmetic the row loop takes: 3x3, multiplier 1, no dilation, channels a multiple of
 * 4, the full int8 range, every channel's requantization in the short form, and the scratch. */
TG_COLD static int32_t tg_dw3x3_applies(const tg_context *ctx, const tg_conv_params *p)
{
    int32_t c;
    if (p->filter.h != 3 || p->filter.w != 3 || p->dilation.h != 1 || p->dilation.w != 1 || p->depth_multiplier != 1 ||
        p->output.c % 4 != 0 || p->activation_min > -128 || p->activation_max < 127 || ctx == NULL ||
        ctx->buf == NULL || ctx->size < tg_dw3x3_slots_bytes(p)) {
        return 0;
    }
    for (c = 0; c < (p->per_channel ? p->output.c : 1); ++c) {
        if (!tg_dsp_short_applies(p->accumulator_bits, p->shift[c])) {
            return 0;
        }
    }
    return 1;
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* The widening and the row loops stay out of line: inlined into the driver, they would leave its loop
 * variables in the stack (the row loops clobber 12 registers), costing more than the calls. */
#if defined(__GNUC__)
#define TG_DW_NOINLINE __attribute__((noinline))
#else
#define TG_DW_NOINLINE
#endif

/* The frame of channel group c0: requantization, doubled bias, the 9 taps' weights widened and doubled
 * (the accumulators hold 2 acc). */
TG_COLD static void tg_dw3x3_group(tg_dw3x3_frame *frame, const tg_conv_params *p, int32_t c0)
{
    int32_t j, t;
    for (j = 0; j < 4; ++j) {
        const int32_t q = p->per_channel ? c0 + j : 0;
        tg_dsp_short_prepare(&frame->rq[j], p->multiplier[q], p->shift[q], p->output_offset);
        frame->bias[j] = p->bias ? 2 * p->bias[c0 + j] : 0;
    }
    for (t = 0; t < 9; ++t) {
        const uint32_t raw = tg_read_u32(p->weights + t * p->output.c + c0);
        frame->weights[t][0] = tg_dw_double(tg_sxtb16(raw));
        frame->weights[t][1] = tg_dw_double(tg_sxtb16_ror8(raw));
    }
}

/* The 3 row buffers of a channel group and what widening a row needs. */
typedef struct {
    uint32_t *buf[3];   /* buf[k]: window row k, i.e. input row iy + k of the current output row */
    const int8_t *base; /* the group's first channel in input row 0 at the first column not padding */
    int32_t row_bytes;  /* bytes between input rows */
    int32_t in_c;       /* bytes between input pixels */
    int32_t in_h;
    int32_t left; /* columns [0, left) and [right, width) of a widened row are padding */
    int32_t right;
    int32_t width;    /* columns read by an output row: (OW - 1) * stride + 3 */
    uint32_t offsets; /* the input offset in both int16 lanes */
} tg_dw3x3_rows;

/* `count` input pixels (src, every in_c bytes) widened into dst: per pixel the even and the odd word
 * (tg_dsp.h) of the group's 4 values plus the input offset. */
TG_DW_NOINLINE static void tg_dw3x3_widen(uint32_t *dst, const int8_t *src, int32_t in_c, uint32_t offsets,
                                          int32_t count)
{
    int32_t quads = count >> 2;
    if (quads > 0) {
        /* 4 pixels per iteration in assembly: the four loads back to back (they pipeline), each widened
         * word stored on its own (the compiler pairs them into STRD: 3 cycles per 2 instead of 2): 28
         * cycles per 4 pixels, was 44 */
        const int32_t twice = 2 * in_c;
        const int8_t *second;
        uint32_t r0, r1, r2, r3, w;
        /* clang-format off */
        __asm__ volatile("1:\n\t"
                         "add %[second], %[src], %[twice]\n\t"
                         "ldr %[r0], [%[src]]\n\t"
                         "ldr %[r1], [%[src], %[in_c]]\n\t"
                         "ldr %[r2], [%[second]]\n\t"
                         "ldr %[r3], [%[second], %[in_c]]\n\t"
                         "add %[src], %[src], %[twice], lsl #1\n\t"
                         "sxtab16 %[w], %[off], %[r0]\n\t"
                         "str %[w], [%[dst]]\n\t"
                         "sxtab16 %[w], %[off], %[r0], ror #8\n\t"
                         "str %[w], [%[dst], #4]\n\t"
                         "sxtab16 %[w], %[off], %[r1]\n\t"
                         "str %[w], [%[dst], #8]\n\t"
                         "sxtab16 %[w], %[off], %[r1], ror #8\n\t"
                         "str %[w], [%[dst], #12]\n\t"
                         "sxtab16 %[w], %[off], %[r2]\n\t"
                         "str %[w], [%[dst], #16]\n\t"
                         "sxtab16 %[w], %[off], %[r2], ror #8\n\t"
                         "str %[w], [%[dst], #20]\n\t"
                         "sxtab16 %[w], %[off], %[r3]\n\t"
                         "str %[w], [%[dst], #24]\n\t"
                         "sxtab16 %[w], %[off], %[r3], ror #8\n\t"
                         "str %[w], [%[dst], #28]\n\t"
                         "add %[dst], %[dst], #32\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(quads), [second] "=&r"(second), [r0] "=&r"(r0),
                           [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [w] "=&r"(w)
                         : [in_c] "r"(in_c), [twice] "r"(twice), [off] "r"(offsets)
                         : "cc", "memory");
        /* clang-format on */
        count &= 3;
    }
    for (; count >= 2; count -= 2, src += 2 * in_c, dst += 4) {
        /* both loads first: back to back they pipeline */
        const uint32_t raw0 = tg_read_u32(src), raw1 = tg_read_u32(src + in_c);
        dst[0] = tg_sxtab16(offsets, raw0);
        dst[1] = tg_sxtab16_ror8(offsets, raw0);
        dst[2] = tg_sxtab16(offsets, raw1);
        dst[3] = tg_sxtab16_ror8(offsets, raw1);
    }
    if (count > 0) {
        const uint32_t raw = tg_read_u32(src);
        dst[0] = tg_sxtab16(offsets, raw);
        dst[1] = tg_sxtab16_ror8(offsets, raw);
    }
}

/* Input row iy into buffer dst: its columns [left, right) widened, or 0 for a row outside the input
 * (the contribution of a padded tap). The padding columns are 0 in every buffer from the start
 * (tg_dw3x3_clear) and nothing writes them. */
TG_INLINE void tg_dw3x3_fill(const tg_dw3x3_rows *r, uint32_t *dst, int32_t iy)
{
    int32_t col;
    if (iy >= 0 && iy < r->in_h) {
        tg_dw3x3_widen(dst + 2 * r->left, r->base + iy * r->row_bytes, r->in_c, r->offsets, r->right - r->left);
        return;
    }
    for (col = 2 * r->left; col < 2 * r->right; ++col) {
        dst[col] = 0;
    }
}

/* Zero the padding columns of the 3 buffers (once per layer). */
TG_COLD static void tg_dw3x3_clear(const tg_dw3x3_rows *r)
{
    int32_t k, col;
    for (k = 0; k < 3; ++k) {
        for (col = 0; col < 2 * r->width; ++col) {
            if (col < 2 * r->left || col >= 2 * r->right) {
                r->buf[k][col] = 0;
            }
        }
    }
}

/* Move the window down from input rows iy - stride .. to iy .. iy + 2: the buffers rotate by the
 * stride, so the rows still in the window stay where they were widened and the others are widened
 * into the buffers of the rows it left (a row is widened once per channel group, before the output
 * row that first reads it is written: the in-place contract). first: the group's first output row. */
TG_INLINE void tg_dw3x3_slide(tg_dw3x3_rows *r, int32_t iy, int32_t stride, int32_t first)
{
    uint32_t *const old[3] = {r->buf[0], r->buf[1], r->buf[2]};
    int32_t k;
    if (first) {
        tg_dw3x3_fill(r, r->buf[0], iy);
        tg_dw3x3_fill(r, r->buf[1], iy + 1);
        tg_dw3x3_fill(r, r->buf[2], iy + 2);
        return;
    }
    for (k = 0; k < 3; ++k) { /* a rotation: the kept rows move up by the stride */
        r->buf[k] = old[(k + stride) % 3];
    }
    for (k = TG_MAX(0, 3 - stride); k < 3; ++k) {
        tg_dw3x3_fill(r, r->buf[k], iy + k);
    }
}
#endif

void tg_depthwise_conv_3x3_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t out_h = p->output.h, out_w = p->output.w, channels = p->output.c;
    const int32_t stride_h = p->stride.h, stride_w = p->stride.w;
    tg_dw3x3_rows rows;
    tg_dw3x3_frame frame;
    int32_t c0, oy;
    if (!tg_dw3x3_applies(ctx, p)) {
        tg_depthwise_conv_s8(ctx, p, input, output);
        return;
    }
    rows.width = (out_w - 1) * stride_w + 3;
    rows.buf[0] = (uint32_t *)ctx->buf;
    rows.buf[1] = rows.buf[0] + 2 * rows.width;
    rows.buf[2] = rows.buf[1] + 2 * rows.width;
    rows.row_bytes = p->input.w * p->input.c;
    rows.in_c = p->input.c;
    rows.in_h = p->input.h;
    /* input x = column - padding.left */
    rows.left = TG_MIN(rows.width, p->padding.left);
    rows.right = TG_MAX(rows.left, TG_MIN(rows.width, p->input.w + p->padding.left));
    rows.offsets = tg_pair(p->input_offset);
    tg_dw3x3_clear(&rows);
    frame.step = 8 * stride_w;
    frame.channels = channels;
    for (c0 = 0; c0 < channels; c0 += 4) {
        rows.base = rows.left < rows.right ? input + (rows.left - p->padding.left) * rows.in_c + c0 : input;
        tg_dw3x3_group(&frame, p, c0);
        for (oy = 0; oy < out_h; ++oy) {
            tg_dw3x3_slide(&rows, oy * stride_h - p->padding.top, stride_h, oy == 0);
            frame.row[0] = rows.buf[0];
            frame.row[1] = rows.buf[1];
            frame.row[2] = rows.buf[2];
            frame.out = output + oy * out_w * channels + c0;
            frame.count = out_w;
            tg_dw3x3_row(&frame, stride_w);
        }
    }
#else
    tg_depthwise_conv_s8(ctx, p, input, output);
#endif
}
