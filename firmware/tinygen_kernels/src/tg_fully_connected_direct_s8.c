/* tg_fully_connected_direct_s8: fully connected layer without scratch, for input depths K a multiple of
 * 4. The weights come interleaved (tg_fully_connected.h: blocks of 4 output rows x 4 inputs), so that
 * one pointer walks them in the order they are used. Must equal tg_fully_connected_s8 on the same
 * weights in row-major order; its plain loop below serves cores without the DSP extension and layers
 * the assembly does not take.
 *
 * DSP: 4 output rows at a time, the input read as it is: per 4 inputs one load and two SXTAB16 (the
 * input offset added as they widen), the 4 rows' weight words as single loads right after it (loads
 * back to back pipeline: 6 cycles for the 5), and per row two SXTB16 and two SMLAD -- 24 cycles for 16
 * MACs, 16 such groups per loop iteration; batch-1 FC reads every weight once, so the weight loads and
 * their widening are the floor. Per block of 4 rows the requantization and the next block's setup cost
 * about 52 cycles (per channel 76). */
#include <stddef.h>

#include "tg_fully_connected.h"
#include "tg_requant.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_fully_connected_dsp.h"
#endif

int32_t tg_fully_connected_direct_s8_get_buffer_size(const tg_fully_connected_params *params)
{
    (void)params;
    return 0;
}

/* Weight (n, k) in the interleaved order. */
TG_INLINE int32_t tg_fc_direct_index(const tg_fully_connected_params *p, int32_t n, int32_t k)
{
    const int32_t depth = p->input_depth, blocked = p->output_depth & ~3;
    if (n >= blocked) { /* the last rows, row-major after the blocks */
        return blocked * depth + (n - blocked) * depth + k;
    }
    return (n >> 2) * 4 * depth + (k >> 2) * 16 + (n & 3) * 4 + (k & 3);
}

TG_FALLBACK static void tg_fc_direct_plain(const tg_fully_connected_params *p, const int8_t *input, int8_t *output,
                                           int32_t first_row)
{
    const int32_t depth = p->input_depth;
    int32_t n, k;
    for (n = first_row; n < p->output_depth; ++n) {
        const int32_t q = p->per_channel ? n : 0;
        int32_t acc = p->bias ? p->bias[n] : 0;
        for (k = 0; k < depth; ++k) {
            acc += p->weights[tg_fc_direct_index(p, n, k)] * (input[k] + p->input_offset);
        }
        acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
        output[n] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
    }
}

#if defined(__ARM_FEATURE_DSP)
/* What the assembly reads and advances, at the byte offsets it uses (checked below). Words 0-8 are the
 * per-tensor short requantization (tg_dsp.h) or, per channel, the next block's multipliers and shifts
 * and the output offset as 2 offset + 1 (each row's rounding term is (2 offset + 1) 2^(e-1) = 2^(e-1) +
 * offset 2^e, |it| < 2^30 for e <= 23). */
typedef struct {
    int32_t q0;            /*  0: per tensor the multiplier; per channel const int32_t * of the next block */
    int32_t q1;            /*  4: the rounding term; per channel const int8_t * (shifts, each in [-23, -1]) */
    int32_t q2;            /*  8: e (the right shift); per channel 2 output_offset + 1 */
    int8_t *out;           /* 12: the next block's outputs */
    const int8_t *out_end; /* 16: after the last block's */
    const int32_t *bias;   /* 20: the next block's biases */
    const int8_t *x;       /* 24: the input row */
    uint32_t offsets;      /* 28: the input offset in both int16 lanes */
    uint32_t entry;        /* 32: (written by the assembly) where each block enters the unrolled loop */
    const int8_t *x_end;   /* 36: x + K */
    const int8_t *w;       /* 40: the first block's weights */
    int32_t skip;          /* 44: groups of 4 inputs the first iteration skips: (16 - K / 4 % 16) % 16 */
    int32_t per_channel;   /* 48 */
} tg_fc_direct_frame;

typedef char tg_fc_direct_frame_layout[(offsetof(tg_fc_direct_frame, out) == 12 &&
                                        offsetof(tg_fc_direct_frame, bias) == 20 &&
                                        offsetof(tg_fc_direct_frame, entry) == 32 &&
                                        offsetof(tg_fc_direct_frame, per_channel) == 48)
                                           ? 1
                                           : -1];

/* clang-format off */
/* One group: 4 inputs x 4 rows (accumulators r0-r3). The input word and the 4 rows' weight words (one
 * per row, tg_fully_connected.h's interleaving) are 5 loads back to back (the last 4 pipeline: 6
 * cycles), the input widened with its offset (2 SXTAB16: even lanes r9, odd r8), then per row 2 SXTB16
 * and 2 SMLAD: 24 cycles for 16 MACs. Every instruction is 32-bit (.w), so that all groups have one size
 * and a block can enter the unrolled loop at any group. */
#define TG_FC_DIRECT_ROW(a, w)                                                                           \
    "sxtb16.w r7, " w "\n\t"                                                                             \
    "smlad.w " a ", r7, r9, " a "\n\t"                                                                   \
    "sxtb16.w " w ", " w ", ror #8\n\t"                                                                  \
    "smlad.w " a ", " w ", r8, " a "\n\t"

#define TG_FC_DIRECT_GROUP                                                                               \
    "ldr.w r8, [r4], #4\n\t"                                                                             \
    "ldr.w r10, [r5], #4\n\t"                                                                            \
    "ldr.w r11, [r5], #4\n\t"                                                                            \
    "ldr.w r12, [r5], #4\n\t"                                                                            \
    "ldr.w lr, [r5], #4\n\t"                                                                             \
    "sxtab16.w r9, r6, r8\n\t"                                                                           \
    "sxtab16.w r8, r6, r8, ror #8\n\t" TG_FC_DIRECT_ROW("r0", "r10") TG_FC_DIRECT_ROW("r1", "r11")        \
        TG_FC_DIRECT_ROW("r2", "r12") TG_FC_DIRECT_ROW("r3", "lr")

#define TG_FC_DIRECT_GROUPS4 TG_FC_DIRECT_GROUP TG_FC_DIRECT_GROUP TG_FC_DIRECT_GROUP TG_FC_DIRECT_GROUP

/* Per tensor: accumulator a requantized (tg_dsp_short: r6 multiplier, r7 rounding term, r8 e) and
 * stored at [r9], r9++: 6 cycles. */
#define TG_FC_DIRECT_STORE(a)                                                                            \
    "lsl " a ", " a ", #1\n\t"                                                                           \
    "add lr, r7, " a ", asr #31\n\t"                                                                     \
    "smmlar " a ", " a ", r6, lr\n\t"                                                                    \
    "asr " a ", " a ", r8\n\t"                                                                           \
    "ssat " a ", #8, " a "\n\t"                                                                          \
    "strb " a ", [r9], #1\n\t"

/* Per channel: the multiplier at [r6], r6 += 4, the shift -e at [r7], r7++, the rounding term
 * (r8 = 2 offset + 1) << (e - 1) -- MVN of -e is e - 1 --, stored at [r9], r9++: 12 cycles. */
#define TG_FC_DIRECT_STORE_PC(a)                                                                         \
    "ldr r4, [r6], #4\n\t"                                                                              \
    "ldrsb lr, [r7], #1\n\t"                                                                            \
    "mvn r10, lr\n\t"                                                                                   \
    "lsl r10, r8, r10\n\t"                                                                              \
    "lsl " a ", " a ", #1\n\t"                                                                           \
    "add r10, r10, " a ", asr #31\n\t"                                                                   \
    "smmlar " a ", " a ", r4, r10\n\t"                                                                   \
    "rsb lr, lr, #0\n\t"                                                                                \
    "asr " a ", " a ", lr\n\t"                                                                           \
    "ssat " a ", #8, " a "\n\t"                                                                          \
    "strb " a ", [r9], #1\n\t"

/* Every block of 4 rows (frame->out to frame->out_end), in assembly with every register but sp (naked,
 * so r7 is free too): r0-r3 the accumulators, r4 the input, r5 the weights (the blocks follow each other,
 * so r5 runs through all of them), r6 the input offsets, r7 a temporary, r8-r12 and lr the group's
 * words. Per block (label 3): its biases, the input pointer, then into the loop of 16 groups (64 inputs:
 * 390 cycles for 256 MACs) at the group that leaves a whole number of iterations (the entry address,
 * computed once: K / 4 need not be a multiple of 16); the loop ends when r4 reaches x_end. Then the
 * requantization of the 4 rows and their stores: about 52 cycles per block per tensor, 76 per channel.
 * [sp]: the frame, [sp + 4]: x_end, [sp + 8]: per_channel. */
__attribute__((naked, noinline)) static void tg_fc_direct_layer(tg_fc_direct_frame *frame)
{
    __asm__ volatile("ldr r1, [r0, #36]\n\t"
                     "ldr r2, [r0, #48]\n\t"
                     "push {r0, r1, r2, r4-r11, lr}\n\t"
                     "mov r12, r0\n\t"
                     "ldr r2, [r12, #44]\n\t"
                     "adr r8, 1f\n\t"
                     "adr r9, 81f\n\t"
                     "sub r9, r9, r8\n\t" /* the bytes of one group */
                     "mla r8, r2, r9, r8\n\t"
                     "orr r8, r8, #1\n\t" /* Thumb */
                     "str r8, [r12, #32]\n\t"
                     "ldr r5, [r12, #40]\n\t"
                     "ldr r11, [r12, #20]\n\t"
                     "b 3f\n\t"
                     ".p2align 2\n\t"
                     "1:\n\t" TG_FC_DIRECT_GROUP "81:\n\t" TG_FC_DIRECT_GROUP TG_FC_DIRECT_GROUP
                     TG_FC_DIRECT_GROUP TG_FC_DIRECT_GROUPS4 TG_FC_DIRECT_GROUPS4 TG_FC_DIRECT_GROUPS4
                     "ldr r7, [sp, #4]\n\t"
                     "cmp r4, r7\n\t"
                     "bne 1b\n\t"
                     "ldr r12, [sp]\n\t"
                     "ldr r7, [sp, #8]\n\t"
                     "cmp r7, #0\n\t"
                     "bne 6f\n\t"
                     "ldm r12, {r6, r7, r8, r9, r10, r11}\n\t" /* multiplier, round, e, out, out_end, bias */
                     TG_FC_DIRECT_STORE("r0") TG_FC_DIRECT_STORE("r1") TG_FC_DIRECT_STORE("r2")
                     TG_FC_DIRECT_STORE("r3")
                     "str r9, [r12, #12]\n\t"
                     "cmp r9, r10\n\t"
                     "beq 9f\n\t"
                     "3:\n\t" /* a block: r11 its biases, r12 the frame */
                     "ldm r11!, {r0, r1, r2, r3}\n\t"
                     "str r11, [r12, #20]\n\t"
                     "ldr r4, [r12, #24]\n\t"
                     "ldr r6, [r12, #28]\n\t"
                     "ldr r8, [r12, #32]\n\t"
                     "bx r8\n\t"
                     "6:\n\t" /* per channel: multipliers, shifts, 2 offset + 1, out */
                     "ldm r12, {r6, r7, r8, r9}\n\t"
                     TG_FC_DIRECT_STORE_PC("r0") TG_FC_DIRECT_STORE_PC("r1") TG_FC_DIRECT_STORE_PC("r2")
                     TG_FC_DIRECT_STORE_PC("r3")
                     "str r6, [r12]\n\t"
                     "str r7, [r12, #4]\n\t"
                     "str r9, [r12, #12]\n\t"
                     "ldr r10, [r12, #16]\n\t"
                     "ldr r11, [r12, #20]\n\t"
                     "cmp r9, r10\n\t"
                     "bne 3b\n\t"
                     "9:\n\t"
                     "add sp, sp, #12\n\t"
                     "pop {r4-r11, pc}\n\t");
}
/* clang-format on */

/* Does the assembly take the layer: K a multiple of 4, 4-byte aligned weights, a bias, at least 4 rows,
 * the short requantization for every channel and the full int8 range (tg_fc_short_applies).
 * tinygen/ops/fully_connected.py mirrors this. */
TG_INLINE int32_t tg_fc_direct_applies(const tg_fully_connected_params *p)
{
    return p->input_depth > 0 && p->input_depth % 4 == 0 && ((uintptr_t)p->weights & 3u) == 0 &&
           p->output_depth >= 4 && p->bias != NULL && tg_fc_short_applies(p);
}

/* Every input row through the assembly (the blocks of 4 rows), the last N % 4 rows by the plain loop. */
static void tg_fc_direct_dsp(const tg_fully_connected_params *p, const int8_t *input, int8_t *output)
{
    const int32_t blocked = p->output_depth & ~3, groups = p->input_depth / 4;
    tg_fc_direct_frame frame;
    int32_t r;
    frame.per_channel = p->per_channel;
    if (p->per_channel) {
        frame.q2 = 2 * p->output_offset + 1;
    } else {
        tg_dsp_short_t q;
        tg_dsp_short_prepare(&q, p->multiplier[0], p->shift[0], p->output_offset);
        frame.q0 = q.multiplier;
        frame.q1 = q.round;
        frame.q2 = q.shift;
    }
    frame.offsets = tg_pair(p->input_offset);
    frame.skip = (16 - groups % 16) % 16;
    for (r = 0; r < p->rows; ++r, input += p->input_depth, output += p->output_depth) {
        if (p->per_channel) { /* the assembly advances them per block */
            frame.q0 = (int32_t)(uintptr_t)p->multiplier;
            frame.q1 = (int32_t)(uintptr_t)p->shift;
        }
        frame.out = output;
        frame.out_end = output + blocked;
        frame.bias = p->bias;
        frame.x = input;
        frame.x_end = input + p->input_depth;
        frame.w = p->weights;
        tg_fc_direct_layer(&frame);
        tg_fc_direct_plain(p, input, output, blocked); /* the last N % 4 rows */
    }
}
#endif

void tg_fully_connected_direct_s8(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                                  int8_t *output)
{
    int32_t r;
    (void)ctx;
#if defined(__ARM_FEATURE_DSP)
    if (tg_fc_direct_applies(p)) {
        tg_fc_direct_dsp(p, input, output);
        return;
    }
#endif
    for (r = 0; r < p->rows; ++r, input += p->input_depth, output += p->output_depth) {
        tg_fc_direct_plain(p, input, output, 0);
    }
}
