/* tg_depthwise_conv_3x3_s8: depthwise 3x3 convolution (channel multiplier 1, no dilation; any padding,
 * any vertical stride, horizontal stride 1 or 2). Must equal tg_depthwise_conv_s8 (the plain C
 * reference), and falls back to it on cores without the DSP extension and for other shapes.
 *
 * DSP: 4 channels (lanes) at a time. Each input row the window needs is widened to int16 (+ input
 * offset) once per channel group into one of 3 row buffers that roll down the input (a row still needed
 * by the next output row stays where it is). A buffer holds, per pair of columns (2i, 2i + 1), one
 * word per lane with the two columns' values (x[2i] in the bottom half): two horizontally neighbouring
 * taps of one channel, so one SMLAD does two of its multiply-accumulates against a word of weights
 * (w0, w1) or (w1, w2) built per group (doubled: the accumulators hold 2 acc, the short requantization
 * of tg_dsp.h). An odd last column (the "tail") follows the pairs as one halfword per lane, so a buffer
 * is 8 bytes per column; a tail that is padding is not stored at all (the row loops read 0 for it).
 * Padding columns and rows are 0. The widening follows a plan worked out once per layer (the edge
 * pairs that are half padding, the run of input pairs, the tail), in one assembly block.
 *
 * Outputs with more rows than columns at stride 1 run transposed (tg_dw3x3_transposed) when the scratch
 * given holds the transposed order's longer rows (tg_depthwise_conv_3x3_s8_get_buffer_size; with less,
 * down to tg_depthwise_conv_3x3_s8_row_order_buffer_size, in rows): the same loops over the output's
 * columns, so KWS's 25 x 5 outputs are 5 rows of 6 blocks of 4 and a single pixel, not 25 rows of one
 * block and a single (0.24 -> 0.36 MAC/cycle with the rest).
 *
 * Per lane, 4 output pixels at a time (registers: 4 accumulators, the window row's words, both weight
 * words, the three row pointers), in assembly:
 *   - stride 1, pixels x .. x + 3 (x even) read pair words A, B, C (columns x .. x + 5): pixel x is
 *     SMLAD(w01, A) + w2 B.lo, x + 1 is SMLAD(w12, B) + w0 A.hi, x + 2 is SMLAD(w01, B) + w2 C.lo, x + 3
 *     SMLAD(w12, C) + w0 B.hi: 5 loads (6 cycles) and 8 multiplies for 12 MACs per window row;
 *   - stride 2, pixel x reads pair x (SMLAD w01) and the low half of pair x + 1 (w2): 7 loads and 8
 *     multiplies for 12 MACs;
 *   - then the 4 accumulators are requantized with the lane's constants loaded once (about 30 cycles
 *     with the stores): about 75 cycles per lane and 4 pixels (36 MACs), 300 per block of 4 lanes.
 * A row's remaining pixels take the 2-pixel block and the single pixel (the last one of an odd row at
 * stride 1, always the last one at stride 2, whose third column may be the tail).
 * Channels that are not a multiple of 4 end with a group of 1 to 3: it runs as the last 4 channels (all its
 * reads inside the pixel), so its first lanes compute again what the group before stored, the same values --
 * except in place, where their inputs are outputs by now: there each output row of the group goes into a row of
 * 4 lanes per pixel after the row buffers and only its last lanes are copied out (tg_dw3x3_last_lanes). A 20 x
 * 20 x 6 layer in place: 0.24 MAC/cycle, 0.014 in the plain kernel. Layers it does not take (fewer than 4
 * channels, a clamp inside int8, a requantization outside the short form, a horizontal stride above 2) go to the
 * plain kernel. */
#include <stddef.h>
#include <string.h>

#include "tg_conv.h"
#include "internal/tg_dsp.h"

/* Outputs with more rows than columns (at stride 1) may run transposed: rows and columns swapped
 * throughout (the strides of the input, output and weights; the padding), so an output "row" is a
 * column of the output. Long rows amortize what each row costs (the call, the widening's edges, the
 * blocks that are not 4 pixels): KWS's 25 x 5 outputs run as 5 rows of 25. At stride 1 the order is
 * in place wherever the row order is (an output column overwrites the input column it was widened
 * from); at stride 2 it is not (an output column lands on input columns still to be widened). */
TG_INLINE int32_t tg_dw3x3_tall(const tg_conv_params *p)
{
    return p->output.h > p->output.w && p->stride.h == 1 && p->stride.w == 1;
}

/* The columns of a widened row: the (OW - 1) S + 3 an output row reads (of the transposed view when t),
 * less an odd last column (the tail) that is padding: the row loops read 0 for it. */
TG_INLINE int32_t tg_dw3x3_columns(const tg_conv_params *p, int32_t t)
{
    const int32_t width = ((t ? p->output.h : p->output.w) - 1) * (t ? p->stride.h : p->stride.w) + 3;
    return width - ((width & 1) && (t ? p->input.h + p->padding.top : p->input.w + p->padding.left) < width);
}

/* The 3 widened row buffers (of the transposed view when t), and when the channels are not a multiple of
 * 4 the last group's output row (4 lanes per pixel: tg_depthwise_conv_3x3_s8 keeps its last lanes). */
TG_INLINE int32_t tg_dw3x3_slots_bytes(const tg_conv_params *params, int32_t t)
{
    const int32_t row = params->output.c % 4 != 0 ? 4 * (t ? params->output.h : params->output.w) : 0;
    return 8 * 3 * tg_dw3x3_columns(params, t) + row;
}

int32_t tg_depthwise_conv_3x3_s8_get_buffer_size(const tg_conv_params *params)
{
    /* the row buffers (transposed where the output is tall), or the fallback's ring of input pixels in place */
    return TG_MAX(tg_dw3x3_slots_bytes(params, tg_dw3x3_tall(params)), tg_depthwise_conv_s8_get_buffer_size(params));
}

int32_t tg_depthwise_conv_3x3_s8_row_order_buffer_size(const tg_conv_params *params)
{
    return TG_MAX(tg_dw3x3_slots_bytes(params, 0), tg_depthwise_conv_s8_get_buffer_size(params));
}

#if defined(__ARM_FEATURE_DSP)

/* The mode the scratch given selects: transposed where the output is tall and the scratch holds the
 * transposed rows (the planner gives less where those would grow the arena: tinygen/ops/conv.py). */
TG_INLINE int32_t tg_dw3x3_transposed(const tg_context *ctx, const tg_conv_params *p)
{
    return tg_dw3x3_tall(p) && ctx->size >= tg_dw3x3_slots_bytes(p, 1);
}

/* What the row loops read, at the byte offsets their assembly uses (checked below). */
typedef struct {
    uint32_t weights[4][3][2]; /*   0: lane j, window row k at 24 j + 8 k: (2 w_k0, 2 w_k1), (2 w_k1, 2 w_k2) */
    int32_t bias[4];           /*  96: per lane, doubled */
    tg_dsp_short_t rq[4];      /* 112: per lane {multiplier, round, shift} */
    int32_t channels;          /* 160: bytes between output pixels */
    int32_t count;             /* 164: blocks left */
    const uint32_t *row[3];    /* 168: the window's rows at the block's first pair */
    int8_t *out;               /* 180: the block's first output pixel, lane 0 */
    int32_t rest;              /* 184: after the blocks of 4: bit 1 a pair, bit 2 a tail pair, bit 0 a single; bit 3 no tail */
    int32_t weight_row;        /* 188: weight bytes between the view's window rows (set once per layer) */
    int32_t weight_tap;        /* 192: and between the taps of a window row */
} tg_dw3x3_frame;

typedef char tg_dw3x3_frame_layout[(offsetof(tg_dw3x3_frame, bias) == 96 && offsetof(tg_dw3x3_frame, rq) == 112 &&
                                    offsetof(tg_dw3x3_frame, channels) == 160 &&
                                    offsetof(tg_dw3x3_frame, count) == 164 && offsetof(tg_dw3x3_frame, row) == 168 &&
                                    offsetof(tg_dw3x3_frame, out) == 180 && offsetof(tg_dw3x3_frame, rest) == 184)
                                       ? 1
                                       : -1];

/* clang-format off */
/* Weight words of lane L, window row K: (w0, w1) into r8, (w1, w2) into lr. */
#define TG_DW_WEIGHTS(L, K)                                                                               \
    "ldr r8, [r12, #24*" #L "+8*" #K "]\n\t"                                                              \
    "ldr lr, [r12, #24*" #L "+8*" #K "+4]\n\t"

/* The word of lane L at byte `off` of pair words from row R into reg, or (T = 1) the lane's tail halfword
 * there (the tail holds one halfword per lane; only its low half is read). */
#define TG_DW_LAST_0(reg, R, off, L) "ldr " reg ", [" R ", #" off "+4*" #L "]\n\t"
#define TG_DW_LAST_1(reg, R, off, L) "ldrsh " reg ", [" R ", #" off "+2*" #L "]\n\t"
/* (T = 2) a tail that is padding, not stored: 0 */
#define TG_DW_LAST_2(reg, R, off, L) "mov " reg ", #0\n\t"

/* Stride 1, pixels 0..3 of the block, window row K (row pointer R) of lane L; a0..a3: the accumulators'
 * addends (r3, the bias, on the first row: r3 is the last one overwritten). */
#define TG_DW1_QUAD_ROW(R, K, L, T, a0, a1, a2, a3)                                                        \
    "ldr r4, [" R ", #4*" #L "]\n\t"                                                                      \
    "ldr r5, [" R ", #16+4*" #L "]\n\t"                                                                   \
    "ldr r6, [" R ", #32+4*" #L "]\n\t"                                                                   \
    TG_DW_WEIGHTS(L, K)                                                                                   \
    "smlad r0, r8, r4, " a0 "\n\t"                                                                        \
    "smlatb r0, lr, r5, r0\n\t"                                                                           \
    "smlad r1, lr, r5, " a1 "\n\t"                                                                        \
    "smlabt r1, r8, r4, r1\n\t"                                                                           \
    "smlad r2, r8, r5, " a2 "\n\t"                                                                        \
    "smlatb r2, lr, r6, r2\n\t"                                                                           \
    "smlabt r3, r8, r5, " a3 "\n\t"                                                                       \
    "smlad r3, lr, r6, r3\n\t"

/* Stride 2, the same (pairs 0..4 of the block; the fifth is the tail when T = 1). */
#define TG_DW2_QUAD_ROW(R, K, L, T, a0, a1, a2, a3)                                                       \
    "ldr r4, [" R ", #4*" #L "]\n\t"                                                                      \
    "ldr r5, [" R ", #16+4*" #L "]\n\t"                                                                   \
    "ldr r6, [" R ", #32+4*" #L "]\n\t"                                                                   \
    TG_DW_WEIGHTS(L, K)                                                                                   \
    "smlad r0, r8, r4, " a0 "\n\t"                                                                        \
    "smlatb r0, lr, r5, r0\n\t"                                                                           \
    "smlad r1, r8, r5, " a1 "\n\t"                                                                        \
    "smlatb r1, lr, r6, r1\n\t"                                                                           \
    "ldr r4, [" R ", #48+4*" #L "]\n\t"                                                                   \
    TG_DW_LAST_##T("r5", R, "64", L)                                                                      \
    "smlad r2, r8, r6, " a2 "\n\t"                                                                        \
    "smlatb r2, lr, r4, r2\n\t"                                                                           \
    "smlad r3, r8, r4, " a3 "\n\t"                                                                        \
    "smlatb r3, lr, r5, r3\n\t"

/* Stride 1, pixels 0..1 (pair words A, B); a0, a1: r1 (the bias) on the first row. */
#define TG_DW1_PAIR_ROW(R, K, L, T, a0, a1)                                                               \
    "ldr r4, [" R ", #4*" #L "]\n\t"                                                                      \
    "ldr r5, [" R ", #16+4*" #L "]\n\t"                                                                   \
    TG_DW_WEIGHTS(L, K)                                                                                   \
    "smlad r0, r8, r4, " a0 "\n\t"                                                                        \
    "smlatb r0, lr, r5, r0\n\t"                                                                           \
    "smlad r1, lr, r5, " a1 "\n\t"                                                                        \
    "smlabt r1, r8, r4, r1\n\t"

/* Stride 2, pixels 0..1 (pairs 0..2; the third is the tail when T = 1). */
#define TG_DW2_PAIR_ROW(R, K, L, T, a0, a1)                                                               \
    "ldr r4, [" R ", #4*" #L "]\n\t"                                                                      \
    "ldr r5, [" R ", #16+4*" #L "]\n\t"                                                                   \
    TG_DW_LAST_##T("r6", R, "32", L)                                                                      \
    TG_DW_WEIGHTS(L, K)                                                                                   \
    "smlad r0, r8, r4, " a0 "\n\t"                                                                        \
    "smlatb r0, lr, r5, r0\n\t"                                                                           \
    "smlad r1, r8, r5, " a1 "\n\t"                                                                        \
    "smlatb r1, lr, r6, r1\n\t"

/* Either stride, one pixel: pair 0 and the tail after it (its third column). */
#define TG_DW_SINGLE_ROW(R, K, L, T, a0, a1)                                                              \
    "ldr r4, [" R ", #4*" #L "]\n\t"                                                                      \
    TG_DW_LAST_##T("r5", R, "16", L)                                                                      \
    TG_DW_WEIGHTS(L, K)                                                                                   \
    "smlad r0, r8, r4, " a0 "\n\t"                                                                        \
    "smlatb r0, lr, r5, r0\n\t"

/* The short requantization of accumulator a (2 acc) with the lane's multiplier in r4, round in r5,
 * shift in r6: the sign correction and SMMLAR, then the shift and the saturation. */
#define TG_DW_REQ(a)                                                                                      \
    "add r8, r5, " a ", asr #31\n\t"                                                                      \
    "smmlar " a ", " a ", r4, r8\n\t"
#define TG_DW_SAT(a)                                                                                      \
    "asr " a ", " a ", r6\n\t"                                                                            \
    "ssat " a ", #8, " a "\n\t"

/* The lane's constants (4 loads back to back, with the block's output pointer into lr). */
#define TG_DW_CONSTANTS(L)                                                                                \
    "ldr r4, [r12, #112+12*" #L "]\n\t"                                                                   \
    "ldr r5, [r12, #116+12*" #L "]\n\t"                                                                   \
    "ldr r6, [r12, #120+12*" #L "]\n\t"                                                                   \
    "ldr lr, [r12, #180]\n\t"

/* Lane L of 4 pixels (r0..r3) requantized and stored: about 30 cycles. */
#define TG_DW_STORE4(L)                                                                                   \
    TG_DW_CONSTANTS(L)                                                                                    \
    TG_DW_REQ("r0") TG_DW_REQ("r1") TG_DW_REQ("r2") TG_DW_REQ("r3")                                       \
    "ldr r8, [r12, #160]\n\t"                                                                             \
    TG_DW_SAT("r0") TG_DW_SAT("r1")                                                                       \
    "add r4, lr, r8\n\t"                                                                                  \
    "add r5, r4, r8\n\t"                                                                                  \
    TG_DW_SAT("r2") TG_DW_SAT("r3")                                                                       \
    "add r8, r5, r8\n\t"                                                                                  \
    "strb r0, [lr, #" #L "]\n\t"                                                                          \
    "strb r1, [r4, #" #L "]\n\t"                                                                          \
    "strb r2, [r5, #" #L "]\n\t"                                                                          \
    "strb r3, [r8, #" #L "]\n\t"

/* Lane L of 2 pixels (r0, r1). */
#define TG_DW_STORE2(L)                                                                                   \
    TG_DW_CONSTANTS(L)                                                                                    \
    TG_DW_REQ("r0") TG_DW_REQ("r1")                                                                       \
    "ldr r8, [r12, #160]\n\t"                                                                             \
    TG_DW_SAT("r0")                                                                                       \
    "add r4, lr, r8\n\t"                                                                                  \
    TG_DW_SAT("r1")                                                                                       \
    "strb r0, [lr, #" #L "]\n\t"                                                                          \
    "strb r1, [r4, #" #L "]\n\t"

/* Lane L of 1 pixel (r0). */
#define TG_DW_STORE1(L)                                                                                   \
    TG_DW_CONSTANTS(L)                                                                                    \
    TG_DW_REQ("r0") TG_DW_SAT("r0")                                                                       \
    "strb r0, [lr, #" #L "]\n\t"

/* Lane L of a block: the bias into `bias` (the register the first row adds it from), the 3 window rows
 * (ROW: one of the row macros above), the stores. */
#define TG_DW_LANE4(ROW, L, T)                                                                            \
    "ldr r3, [r12, #96+4*" #L "]\n\t"                                                                     \
    ROW("r9", 0, L, T, "r3", "r3", "r3", "r3")                                                            \
    ROW("r10", 1, L, T, "r0", "r1", "r2", "r3")                                                           \
    ROW("r11", 2, L, T, "r0", "r1", "r2", "r3")                                                           \
    TG_DW_STORE4(L)
#define TG_DW_LANE2(ROW, L, T)                                                                            \
    "ldr r1, [r12, #96+4*" #L "]\n\t"                                                                     \
    ROW("r9", 0, L, T, "r1", "r1")                                                                        \
    ROW("r10", 1, L, T, "r0", "r1")                                                                       \
    ROW("r11", 2, L, T, "r0", "r1")                                                                       \
    TG_DW_STORE2(L)
#define TG_DW_LANE1(ROW, L, T)                                                                            \
    "ldr r1, [r12, #96+4*" #L "]\n\t"                                                                     \
    ROW("r9", 0, L, T, "r1", "r1")                                                                        \
    ROW("r10", 1, L, T, "r0", "r1")                                                                       \
    ROW("r11", 2, L, T, "r0", "r1")                                                                       \
    TG_DW_STORE1(L)

/* After a block: the row pointers advance by `step` bytes, the output by `out_step` (r8 = channels). */
#define TG_DW_ADVANCE(step, out_step)                                                                     \
    "ldr lr, [r12, #180]\n\t"                                                                             \
    "ldr r8, [r12, #160]\n\t"                                                                             \
    "add r9, r9, #" step "\n\t"                                                                           \
    "add r10, r10, #" step "\n\t"                                                                         \
    "add r11, r11, #" step "\n\t"                                                                         \
    "add lr, lr, " out_step "\n\t"                                                                        \
    "str lr, [r12, #180]\n\t"

/* The 4 lanes of a block. */
#define TG_DW_LANES(LANE, ROW, T) LANE(ROW, 0, T) LANE(ROW, 1, T) LANE(ROW, 2, T) LANE(ROW, 3, T)

/* One output row of the group, in one call (the call and the register saves cost about 30 cycles, a
 * tenth of a block): frame->count blocks of 4 pixels (QUAD: the stride's row macro, `qstep` bytes of
 * pair words per block), then as frame->rest says (bit 1) a pair (PAIR, `pstep`), (bit 2) a pair whose
 * third pair word is the tail, (bit 0) the last pixel, whose third column is the tail; (bit 3) the tail
 * is padding, not stored (the last two read 0 for it). */
#define TG_DW_ROW(QUAD, qstep, PAIR, pstep, tail_pair)                                                             \
    "ldr r9, [r12, #168]\n\t"                                                                             \
    "ldr r10, [r12, #172]\n\t"                                                                            \
    "ldr r11, [r12, #176]\n\t"                                                                            \
    "ldr r4, [r12, #164]\n\t"                                                                             \
    "cmp r4, #0\n\t"                                                                                      \
    "beq 2f\n\t"                                                                                          \
    "1:\n\t"                                                                                              \
    TG_DW_LANES(TG_DW_LANE4, QUAD, 0)                                                                     \
    TG_DW_ADVANCE(qstep, "r8, lsl #2")                                                                    \
    "ldr r4, [r12, #164]\n\t"                                                                             \
    "subs r4, r4, #1\n\t"                                                                                 \
    "str r4, [r12, #164]\n\t"                                                                             \
    "bne 1b\n\t"                                                                                          \
    "2:\n\t"                                                                                              \
    "ldr r4, [r12, #184]\n\t"                                                                             \
    "tst r4, #2\n\t"                                                                                      \
    "beq 3f\n\t"                                                                                          \
    TG_DW_LANES(TG_DW_LANE2, PAIR, 0)                                                                     \
    TG_DW_ADVANCE(pstep, "r8, lsl #1")                                                                    \
    "3:\n\t"                                                                                              \
    tail_pair                                                                                             \
    "ldr r4, [r12, #184]\n\t"                                                                             \
    "tst r4, #1\n\t"                                                                                      \
    "beq 5f\n\t"                                                                                          \
    "tst r4, #8\n\t"                                                                                      \
    "bne 6f\n\t"                                                                                          \
    TG_DW_LANES(TG_DW_LANE1, TG_DW_SINGLE_ROW, 1)                                                         \
    "b 5f\n\t"                                                                                            \
    "6:\n\t"                                                                                              \
    TG_DW_LANES(TG_DW_LANE1, TG_DW_SINGLE_ROW, 2)                                                         \
    "5:\n\t"

/* Stride 2's tail pair (bit 2 of rest; stride 1 has none). */
#define TG_DW2_TAIL_PAIR                                                                                  \
    "ldr r4, [r12, #184]\n\t"                                                                             \
    "tst r4, #4\n\t"                                                                                      \
    "beq 4f\n\t"                                                                                          \
    "tst r4, #8\n\t"                                                                                      \
    "bne 7f\n\t"                                                                                          \
    TG_DW_LANES(TG_DW_LANE2, TG_DW2_PAIR_ROW, 1)                                                          \
    "b 4f\n\t"                                                                                            \
    "7:\n\t"                                                                                              \
    TG_DW_LANES(TG_DW_LANE2, TG_DW2_PAIR_ROW, 2)                                                          \
    "4:\n\t"

#define TG_DW_CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "lr", "cc", "memory"

/* The row loops stay out of line: inlined into the driver, they would leave its loop variables in the
 * stack (they clobber 12 registers), costing more than the calls. */
#if defined(__GNUC__)
#define TG_DW_NOINLINE __attribute__((noinline))
#else
#define TG_DW_NOINLINE
#endif

/* The setup (per layer and per channel group): compiled for size like TG_COLD, but not cold: a call
 * to a cold function marks its path unlikely, and GCC then compiles all of the driver that leads to
 * it (the row loop too) for size as well. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_DW_SETUP __attribute__((noinline, optimize("Os")))
#elif defined(__GNUC__)
#define TG_DW_SETUP __attribute__((noinline))
#else
#define TG_DW_SETUP
#endif

/* Stride 1 (no tail pair). */
TG_DW_NOINLINE static void tg_dw3x3_row_s1(tg_dw3x3_frame *frame)
{
    register tg_dw3x3_frame *f __asm__("r12") = frame;
    __asm__ volatile(TG_DW_ROW(TG_DW1_QUAD_ROW, "32", TG_DW1_PAIR_ROW, "16", "") : : "r"(f) : TG_DW_CLOBBERS);
}

TG_DW_NOINLINE static void tg_dw3x3_row_s2(tg_dw3x3_frame *frame)
{
    register tg_dw3x3_frame *f __asm__("r12") = frame;
    __asm__ volatile(TG_DW_ROW(TG_DW2_QUAD_ROW, "64", TG_DW2_PAIR_ROW, "32", TG_DW2_TAIL_PAIR) : : "r"(f) : TG_DW_CLOBBERS);
}
/* clang-format on */

/* The shape and arithmetic the row loops take: 3x3, multiplier 1, no dilation, horizontal stride 1 or 2,
 * at least 4 channels, the full int8 range, every channel's requantization in the short form, and
 * the scratch. */
TG_DW_SETUP static int32_t tg_dw3x3_applies(const tg_context *ctx, const tg_conv_params *p)
{
    int32_t c;
    if (p->filter.h != 3 || p->filter.w != 3 || p->dilation.h != 1 || p->dilation.w != 1 || p->depth_multiplier != 1 ||
        p->stride.w < 1 || p->stride.w > 2 || p->output.c < 4 || p->activation_min > -128 ||
        p->activation_max < 127 || ctx == NULL || ctx->buf == NULL || ctx->size < tg_dw3x3_slots_bytes(p, 0)) {
        return 0;
    }
    for (c = 0; c < (p->per_channel ? p->output.c : 1); ++c) {
        if (!tg_dsp_short_applies(p->accumulator_bits, p->shift[c])) {
            return 0;
        }
    }
    return 1;
}

/* PKHBT lo, hi, lsl #16: the low halves of lo and hi. */
TG_INLINE uint32_t tg_dw_pack_low(uint32_t lo, uint32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16"
            : "=r"(r)
            : "r"(lo), "r"(hi));
    return r;
}

/* PKHTB hi, lo, asr #16: the high halves of lo and hi. */
TG_INLINE uint32_t tg_dw_pack_high(uint32_t lo, uint32_t hi)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16"
            : "=r"(r)
            : "r"(hi), "r"(lo));
    return r;
}

/* Lane-wise x + x of two int16 lanes. */
TG_INLINE uint32_t tg_dw_double(uint32_t x)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %1"
            : "=r"(r)
            : "r"(x));
    return r;
}

/* The frame of channel group c0: requantization, doubled bias, per lane and window row the weight words
 * (2 w0, 2 w1) and (2 w1, 2 w2) (doubled: the accumulators hold 2 acc; 2 w fits int16). Per window row
 * the 3 taps' words of 4 lanes are widened (lanes 0, 2 and 1, 3) and the halves regrouped per lane. */
TG_DW_SETUP static void tg_dw3x3_group(tg_dw3x3_frame *frame, const tg_conv_params *p, int32_t c0)
{
    /* the view's window rows and the taps of a row (transposed: the kernel's columns and rows) */
    const int32_t row_step = frame->weight_row, tap = frame->weight_tap;
    const int8_t *w = p->weights + c0;
    int32_t j, k;
    for (j = 0; j < 4; ++j) {
        const int32_t q = p->per_channel ? c0 + j : 0;
        tg_dsp_short_prepare(&frame->rq[j], p->multiplier[q], p->shift[q], p->output_offset);
        frame->bias[j] = p->bias ? 2 * p->bias[c0 + j] : 0;
    }
    for (k = 0; k < 3; ++k, w += row_step) {
        const uint32_t t0 = tg_read_u32(w), t1 = tg_read_u32(w + tap), t2 = tg_read_u32(w + 2 * tap);
        /* even: lanes 0 (low) and 2 (high); odd: lanes 1 and 3 */
        const uint32_t e0 = tg_dw_double(tg_sxtb16(t0)), e1 = tg_dw_double(tg_sxtb16(t1));
        const uint32_t e2 = tg_dw_double(tg_sxtb16(t2)), o0 = tg_dw_double(tg_sxtb16_ror8(t0));
        const uint32_t o1 = tg_dw_double(tg_sxtb16_ror8(t1)), o2 = tg_dw_double(tg_sxtb16_ror8(t2));
        frame->weights[0][k][0] = tg_dw_pack_low(e0, e1);
        frame->weights[0][k][1] = tg_dw_pack_low(e1, e2);
        frame->weights[1][k][0] = tg_dw_pack_low(o0, o1);
        frame->weights[1][k][1] = tg_dw_pack_low(o1, o2);
        frame->weights[2][k][0] = tg_dw_pack_high(e0, e1);
        frame->weights[2][k][1] = tg_dw_pack_high(e1, e2);
        frame->weights[3][k][0] = tg_dw_pack_high(o0, o1);
        frame->weights[3][k][1] = tg_dw_pack_high(o1, o2);
    }
}

/* The pair of columns whose 4 lanes are raw0 and raw1 into dst (4 words): a PKHBT and a PKHTB gather the
 * bytes of lanes 0, 1 and of lanes 2, 3 of both columns, SXTAB16 (and its ror 8) widens them and adds the
 * offset. */
TG_INLINE void tg_dw3x3_pair(uint32_t *dst, uint32_t raw0, uint32_t raw1, uint32_t offsets)
{
    const uint32_t low = tg_dw_pack_low(raw0, raw1), high = tg_dw_pack_high(raw0, raw1);
    dst[0] = tg_sxtab16(offsets, low);
    dst[1] = tg_sxtab16_ror8(offsets, low);
    dst[2] = tg_sxtab16(offsets, high);
    dst[3] = tg_sxtab16_ror8(offsets, high);
}

/* What widening an input row of a channel group into a buffer does, worked out once per layer (the
 * columns [left, right) of a widened row are input, input x = column - padding.left; the others are
 * padding, 0). *_dst: byte offsets into a buffer (8 per column), *_src: into the input row; zero_*:
 * words. */
typedef struct {
    const int8_t *base; /* the group's first channel in input row 0 at input column 0 (maybe outside) */
    int32_t row_bytes;  /* bytes between input rows */
    int32_t in_c;       /* bytes between input pixels */
    int32_t in_h;
    int32_t lead; /* 1: an odd left edge, the pair (padding, left) at lead_dst from lead_src */
    int32_t lead_dst;
    int32_t lead_src;
    int32_t count; /* pairs of input columns from word first_dst, byte first_src */
    int32_t first_dst;
    int32_t first_src;
    int32_t trail; /* 1: an odd right edge below the tail, the pair (right - 1, padding) */
    int32_t trail_dst;
    int32_t trail_src;
    int32_t tail; /* 1: the odd last column (the tail, 1 halfword per lane at word tail_dst) is input */
    int32_t tail_dst;
    int32_t tail_src;
    int32_t zero_dst; /* a row outside the input clears words [zero_dst, zero_end): all a fill writes */
    int32_t zero_end;
    uint32_t offsets; /* the input offset in both int16 lanes */
    uint32_t padding; /* 4 bytes of -input offset (fits int8): widened, 0 */
} tg_dw3x3_rows;

/* The layer as the row loops see it: transposed or not (tg_dw3x3_transposed). */
typedef struct {
    int32_t out_h, out_w, in_h, in_w, stride_h, stride_w, top, left;
    int32_t in_row, in_pixel;       /* input bytes between rows, between the pixels of a row */
    int32_t out_row, out_pixel;     /* output: the same */
    int32_t weight_row, weight_tap; /* weights: between window rows, between the taps of a row */
    int32_t stored;                 /* the columns of a row buffer (tg_dw3x3_columns) */
} tg_dw3x3_view;

/* The mode is chosen here, out of line: chosen in the driver, GCC compiled that 90 instructions larger, and
 * slower (about 4,000 estimated cycles more on VWW). */
TG_DW_SETUP static void tg_dw3x3_view_of(tg_dw3x3_view *v, const tg_context *ctx, const tg_conv_params *p)
{
    const int32_t c = p->output.c, in_row = p->input.w * p->input.c, out_row = p->output.w * c;
    const int32_t transposed = tg_dw3x3_transposed(ctx, p);
    v->weight_row = transposed ? c : 3 * c;
    v->weight_tap = transposed ? 3 * c : c;
    v->stored = tg_dw3x3_columns(p, transposed);
    if (transposed) {
        v->out_h = p->output.w, v->out_w = p->output.h, v->in_h = p->input.w, v->in_w = p->input.h;
        v->stride_h = p->stride.w, v->stride_w = p->stride.h, v->top = p->padding.left, v->left = p->padding.top;
        v->in_row = p->input.c, v->in_pixel = in_row, v->out_row = c, v->out_pixel = out_row;
    } else {
        v->out_h = p->output.h, v->out_w = p->output.w, v->in_h = p->input.h, v->in_w = p->input.w;
        v->stride_h = p->stride.h, v->stride_w = p->stride.w, v->top = p->padding.top, v->left = p->padding.left;
        v->in_row = in_row, v->in_pixel = p->input.c, v->out_row = out_row, v->out_pixel = c;
    }
}

/* The layer's widening plan: width columns, (OW - 1) * stride + 3, the last one the tail when odd;
 * stored: the columns a buffer holds (tg_dw3x3_columns: no tail when it is padding). */
TG_DW_SETUP static void tg_dw3x3_plan(tg_dw3x3_rows *r, const tg_dw3x3_view *v, const tg_conv_params *p,
                                      int32_t width, int32_t stored)
{
    const int32_t pad = v->left, pairs = width >> 1, in_c = v->in_pixel;
    const int32_t left = TG_MIN(width, pad), right = TG_MAX(left, TG_MIN(width, v->in_w + pad));
    const int32_t end = TG_MIN(right, 2 * pairs) & ~1;
    int32_t first = left;
    memset(r, 0, sizeof *r);
    r->row_bytes = v->in_row;
    r->in_c = in_c;
    r->in_h = v->in_h;
    r->offsets = tg_pair(p->input_offset);
    r->padding = (uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u;
    if (left >= right) { /* no input column in the window: the buffers stay 0 */
        return;
    }
    r->zero_dst = 2 * (left & ~1);
    r->zero_end = 2 * stored;
    if (left & 1) {
        r->lead = 1;
        r->lead_dst = 8 * (left - 1);
        r->lead_src = (left - pad) * in_c;
        ++first;
    }
    r->count = TG_MAX(0, (end - first) >> 1);
    r->first_dst = 8 * first;
    r->first_src = (first - pad) * in_c;
    if (right & 1 && right - 1 >= first && right < 2 * pairs) {
        r->trail = 1;
        r->trail_dst = 8 * (right - 1);
        r->trail_src = (right - 1 - pad) * in_c;
    }
    if ((width & 1) && right == width) {
        r->tail = 1;
        r->tail_dst = 16 * pairs;
        r->tail_src = (width - 1 - pad) * in_c;
    }
}

typedef char tg_dw3x3_rows_layout[(offsetof(tg_dw3x3_rows, lead) == 16 && offsetof(tg_dw3x3_rows, count) == 28 &&
                                   offsetof(tg_dw3x3_rows, trail) == 40 && offsetof(tg_dw3x3_rows, tail) == 52 &&
                                   offsetof(tg_dw3x3_rows, offsets) == 72 && offsetof(tg_dw3x3_rows, padding) == 76)
                                      ? 1
                                      : -1];

/* clang-format off */
/* The pair of columns whose 4 lanes are in a0 (the left column) and a1 into the 4 words at out: a PKHBT
 * and a PKHTB gather the bytes of lanes 0, 1 and of lanes 2, 3 of both columns, SXTAB16 (and its ror 8)
 * widens them and adds the offset; 10 cycles (the stores with immediate offsets take 1). */
#define TG_DW_WIDEN_AT(o0, o1, o2, o3)                                                                    \
    "pkhbt %[t0], %[a0], %[a1], lsl #16\n\t"                                                              \
    "pkhtb %[t1], %[a1], %[a0], asr #16\n\t"                                                              \
    "sxtab16 %[a0], %[off], %[t0]\n\t"                                                                    \
    "str %[a0], [%[out], #" o0 "]\n\t"                                                                    \
    "sxtab16 %[a0], %[off], %[t0], ror #8\n\t"                                                            \
    "str %[a0], [%[out], #" o1 "]\n\t"                                                                    \
    "sxtab16 %[a0], %[off], %[t1]\n\t"                                                                    \
    "str %[a0], [%[out], #" o2 "]\n\t"                                                                    \
    "sxtab16 %[a0], %[off], %[t1], ror #8\n\t"                                                            \
    "str %[a0], [%[out], #" o3 "]\n\t"
#define TG_DW_WIDEN_PAIR TG_DW_WIDEN_AT("0", "4", "8", "12")
/* clang-format on */

/* Input row iy into buffer dst: its input columns widened, or (a row outside the input: the
 * contribution of a padded tap) the words a fill writes cleared. The padding columns elsewhere are 0
 * in every buffer from the start (cleared once per layer) and nothing writes them. In assembly, the
 * plan's fields read with immediate offsets (they pipeline): the (padding, x) pair of an odd left
 * edge, the pairs of input columns (about 16 cycles per pair: 2 loads, the widening, the loop), the
 * (x, padding) pair of an odd right edge, the tail. Inlined at its one call. */
TG_INLINE void tg_dw3x3_fill(const tg_dw3x3_rows *r, uint32_t *dst, int32_t iy)
{
    const int8_t *row = r->base + iy * r->row_bytes;
    uint32_t off, in_c, n, a0, a1, t0, t1;
    const int8_t *src;
    uint32_t *out;
    if ((uint32_t)iy >= (uint32_t)r->in_h) {
        uint32_t *z = dst + r->zero_dst;
        int32_t words = r->zero_end - r->zero_dst; /* even, maybe 0 */
        if (words > 0) {
            /* clang-format off */
            __asm__ volatile("1:\n\t"
                             "str %[zero], [%[z]], #4\n\t"
                             "str %[zero], [%[z]], #4\n\t"
                             "subs %[n], %[n], #2\n\t"
                             "bgt 1b"
                             : [z] "+r"(z), [n] "+r"(words)
                             : [zero] "r"(0)
                             : "cc", "memory");
            /* clang-format on */
        }
        return;
    }
    /* clang-format off */
    __asm__ volatile(
        "ldr %[off], [%[r], #72]\n\t"
        "ldr %[in_c], [%[r], #8]\n\t"
        "ldr %[n], [%[r], #16]\n\t"
        "cmp %[n], #0\n\t"
        "beq 1f\n\t"
        /* (padding, x) */
        "ldr %[src], [%[r], #24]\n\t"
        "ldr %[out], [%[r], #20]\n\t"
        "ldr %[a1], [%[row], %[src]]\n\t"
        "ldr %[a0], [%[r], #76]\n\t"
        "add %[out], %[dst], %[out]\n\t"
        TG_DW_WIDEN_PAIR
        "1:\n\t"
        "ldr %[n], [%[r], #28]\n\t"
        "ldr %[src], [%[r], #36]\n\t"
        "ldr %[out], [%[r], #32]\n\t"
        "add %[src], %[row], %[src]\n\t"
        "add %[out], %[dst], %[out]\n\t"
        /* 2 pairs per iteration (the loop's 5 cycles shared), then an odd one */
        "subs %[n], %[n], #2\n\t"
        "blt 6f\n\t"
        "2:\n\t"
        "ldr %[a0], [%[src]]\n\t"
        "ldr %[a1], [%[src], %[in_c]]\n\t"
        "add %[src], %[src], %[in_c], lsl #1\n\t"
        TG_DW_WIDEN_PAIR
        "ldr %[a0], [%[src]]\n\t"
        "ldr %[a1], [%[src], %[in_c]]\n\t"
        "add %[src], %[src], %[in_c], lsl #1\n\t"
        TG_DW_WIDEN_AT("16", "20", "24", "28")
        "add %[out], %[out], #32\n\t"
        "subs %[n], %[n], #2\n\t"
        "bge 2b\n\t"
        "6:\n\t"
        "adds %[n], %[n], #2\n\t"
        "beq 3f\n\t"
        "ldr %[a0], [%[src]]\n\t"
        "ldr %[a1], [%[src], %[in_c]]\n\t"
        TG_DW_WIDEN_PAIR
        "3:\n\t"
        "ldr %[n], [%[r], #40]\n\t"
        "cmp %[n], #0\n\t"
        "beq 4f\n\t"
        /* (x, padding) */
        "ldr %[src], [%[r], #48]\n\t"
        "ldr %[out], [%[r], #44]\n\t"
        "ldr %[a0], [%[row], %[src]]\n\t"
        "ldr %[a1], [%[r], #76]\n\t"
        "add %[out], %[dst], %[out]\n\t"
        TG_DW_WIDEN_PAIR
        "4:\n\t"
        "ldr %[n], [%[r], #52]\n\t"
        "cmp %[n], #0\n\t"
        "beq 5f\n\t"
        /* the tail: lanes 0 .. 3 as halfwords, i.e. words (lane 0, lane 1) and (lane 2, lane 3) */
        "ldr %[src], [%[r], #60]\n\t"
        "ldr %[out], [%[r], #56]\n\t"
        "ldr %[a0], [%[row], %[src]]\n\t"
        "add %[out], %[dst], %[out]\n\t"
        "sxtab16 %[a1], %[off], %[a0]\n\t"
        "sxtab16 %[a0], %[off], %[a0], ror #8\n\t"
        "pkhbt %[t0], %[a1], %[a0], lsl #16\n\t"
        "pkhtb %[t1], %[a0], %[a1], asr #16\n\t"
        "str %[t0], [%[out]]\n\t"
        "str %[t1], [%[out], #4]\n\t"
        "5:\n\t"
        : [off] "=&r"(off), [in_c] "=&r"(in_c), [n] "=&r"(n), [src] "=&r"(src), [out] "=&r"(out), [a0] "=&r"(a0),
          [a1] "=&r"(a1), [t0] "=&r"(t0), [t1] "=&r"(t1)
        : [r] "r"(r), [dst] "r"(dst), [row] "r"(row)
        : "cc", "memory");
    /* clang-format on */
}

/* The window's row buffers at a group's first output row: the 3 buffers in order. */
TG_INLINE void tg_dw3x3_first_rows(tg_dw3x3_frame *frame, const uint32_t *buf, int32_t stored)
{
    frame->row[0] = buf;
    frame->row[1] = buf + 2 * stored;
    frame->row[2] = buf + 4 * stored;
}

/* Moving the window down by the stride: the rows still in it keep their buffers (stride 1: rows 1, 2 become
 * 0, 1; stride 2: row 2 becomes 0); the buffers of the rows it left take the new rows (the first `kept`
 * rows stay). */
TG_INLINE void tg_dw3x3_next_rows(tg_dw3x3_frame *frame, int32_t stride_h)
{
    const uint32_t *t = frame->row[0];
    if (stride_h == 1) {
        frame->row[0] = frame->row[1];
        frame->row[1] = frame->row[2];
        frame->row[2] = t;
    } else if (stride_h == 2) {
        frame->row[0] = frame->row[2];
        frame->row[2] = frame->row[1];
        frame->row[1] = t;
    }
}

/* In place, the last group of 1 to 3 channels (as the 4 channels before the end, c0): the lanes before
 * its own read inputs that are outputs by now, so each output row goes into the row of 4 lanes per pixel
 * after the row buffers and only its last lanes are copied out. (The driver's loop over output rows,
 * out of line: the layers that need it are few and it would cost every other one registers.) */
TG_DW_SETUP static void tg_dw3x3_last_lanes(tg_dw3x3_frame *frame, tg_dw3x3_rows *rows, const tg_dw3x3_view *v,
                                            const tg_conv_params *p, uint32_t *buf, const int8_t *input,
                                            int8_t *output, int32_t count)
{
    const int32_t c0 = p->output.c - 4, keep = p->output.c % 4, stride_h = v->stride_h;
    const int32_t kept = 3 - TG_MIN(stride_h, 3);
    int8_t *const lanes = (int8_t *)(buf + 6 * v->stored);
    int8_t *out = output + c0;
    int32_t iy = -v->top, oy, k, x, lane;
    rows->base = input + c0;
    tg_dw3x3_group(frame, p, c0);
    frame->channels = 4;
    tg_dw3x3_first_rows(frame, buf, v->stored);
    for (oy = 0, k = 0; oy < v->out_h; ++oy, iy += stride_h, k = kept) {
        if (oy > 0) {
            tg_dw3x3_next_rows(frame, stride_h);
        }
        for (; k < 3; ++k) {
            tg_dw3x3_fill(rows, (uint32_t *)frame->row[k], iy + k);
        }
        frame->out = lanes;
        frame->count = count;
        if (v->stride_w == 1) {
            tg_dw3x3_row_s1(frame);
        } else {
            tg_dw3x3_row_s2(frame);
        }
        for (x = 0; x < v->out_w; ++x) {
            for (lane = 4 - keep; lane < 4; ++lane) {
                out[x * v->out_pixel + lane] = lanes[4 * x + lane];
            }
        }
        out += v->out_row;
    }
}
#endif

void tg_depthwise_conv_3x3_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t channels = p->output.c;
    uint32_t *const buf = (uint32_t *)ctx->buf;
    tg_dw3x3_view v;
    tg_dw3x3_rows rows;
    tg_dw3x3_frame frame;
    int32_t out_h, out_w, stride_h, quads, rest, width, stored, count, kept, c0, oy, k;
    if (!tg_dw3x3_applies(ctx, p)) {
        tg_depthwise_conv_s8(ctx, p, input, output);
        return;
    }
    tg_dw3x3_view_of(&v, ctx, p);
    out_h = v.out_h, out_w = v.out_w, stride_h = v.stride_h;
    quads = out_w >> 2, rest = out_w & 3, width = (out_w - 1) * v.stride_w + 3;
    stored = v.stored;
    count = v.stride_w == 1 ? quads : quads - (rest == 0);
    /* after a move down by the stride, the rows from `kept` on are new (all 3 at a stride of 3 or more) */
    kept = 3 - TG_MIN(stride_h, 3);
    tg_dw3x3_plan(&rows, &v, p, width, stored);
    memset(buf, 0, (size_t)(3 * 8 * stored)); /* the padding columns, once */
    frame.channels = v.out_pixel;
    frame.weight_row = v.weight_row;
    frame.weight_tap = v.weight_tap;
    if (v.stride_w == 1) {
        /* blocks of 4 pixels from pixel 0, then 2, then the last one of an odd row (third column: the tail) */
        frame.rest = rest;
    } else {
        /* the last pixel's third column is always the tail (width 2 OW + 1): 4 q + r pixels as q quads and
         * (r = 0) a pair and a tail pair instead of the last quad, (1) a single, (2) a tail pair, (3) a
         * pair and a single */
        static const int8_t rests[4] = {2 | 4, 1, 4, 2 | 1};
        frame.rest = rests[rest];
    }
    if (stored < width) {
        frame.rest |= 8; /* the tail is padding, not stored */
    }
    for (c0 = 0; c0 < channels; c0 += 4) {
        int8_t *out;
        int32_t iy = -v.top;
        if (c0 + 4 > channels) { /* a last group of 1 to 3 channels: as the last 4 (see the top) */
            c0 = channels - 4;
            if (output == input) {
                tg_dw3x3_last_lanes(&frame, &rows, &v, p, buf, input, output, count);
                break;
            }
        }
        out = output + c0;
        rows.base = input + c0;
        tg_dw3x3_group(&frame, p, c0);
        /* frame.row[k]: the buffer of window row k, i.e. input row iy + k of output row oy. Moving the
         * window down, the buffers rotate by the stride, so the rows still in the window stay where they
         * were widened and the others are widened into the buffers of the rows it left (a row is widened
         * once per channel group, before the output row that first reads it is written: the in-place
         * contract). */
        tg_dw3x3_first_rows(&frame, buf, stored);
        for (oy = 0, k = 0; oy < out_h; ++oy, iy += stride_h, k = kept) {
            if (oy > 0) {
                tg_dw3x3_next_rows(&frame, stride_h);
            }
            for (; k < 3; ++k) {
                tg_dw3x3_fill(&rows, (uint32_t *)frame.row[k], iy + k);
            }
            frame.out = out;
            frame.count = count;
            if (v.stride_w == 1) {
                tg_dw3x3_row_s1(&frame);
            } else {
                tg_dw3x3_row_s2(&frame);
            }
            out += v.out_row;
        }
    }
#else
    tg_depthwise_conv_s8(ctx, p, input, output);
#endif
}
