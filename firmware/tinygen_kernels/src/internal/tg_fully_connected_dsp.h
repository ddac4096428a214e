/* tinygen kernel library: the assembly shared by the DSP fully connected variants (internal; see
 * src/tg_fully_connected_fast_s8.c and src/tg_fully_connected_wide_s8.c). Only for cores with the DSP
 * extension. */
#ifndef TG_FULLY_CONNECTED_DSP_H
#define TG_FULLY_CONNECTED_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "tg_fully_connected.h"
#include "tg_dsp.h"

/* clang-format off */
/* TG_FC_CHUNK with the registers of tg_fc_pairs: x r4, rows r2 / r3, accumulators r0 / r1. */
#define TG_FC_CHUNK_R                                                                                    \
    "ldmia r4!, {r8, r9, r10, r11}\n\t"                                                                 \
    "ldrd r6, lr, [r2], #8\n\t"                                                                         \
    "sxtb16 r12, r6\n\t"                                                                                 \
    "smlad r0, r12, r8, r0\n\t"                                                                          \
    "sxtb16 r12, r6, ror #8\n\t"                                                                         \
    "smlad r0, r12, r9, r0\n\t"                                                                          \
    "sxtb16 r12, lr\n\t"                                                                                 \
    "smlad r0, r12, r10, r0\n\t"                                                                         \
    "sxtb16 r12, lr, ror #8\n\t"                                                                         \
    "smlad r0, r12, r11, r0\n\t"                                                                         \
    "ldrd r6, lr, [r3], #8\n\t"                                                                         \
    "sxtb16 r12, r6\n\t"                                                                                 \
    "smlad r1, r12, r8, r1\n\t"                                                                          \
    "sxtb16 r12, r6, ror #8\n\t"                                                                         \
    "smlad r1, r12, r9, r1\n\t"                                                                          \
    "sxtb16 r12, lr\n\t"                                                                                 \
    "smlad r1, r12, r10, r1\n\t"                                                                         \
    "sxtb16 r12, lr, ror #8\n\t"                                                                         \
    "smlad r1, r12, r11, r1\n\t"

/* What tg_fc_pairs reads, at the byte offsets of its assembly (checked below). */
typedef struct {
    int32_t depth;          /*  0: K, bytes per weight row */
    const uint32_t *x;      /*  4: the widened input row */
    int32_t blocks;         /*  8: K / 128 (or K / 8 for tg_fc_pairs_8) */
    const int32_t *bias;    /* 12: of the next pair */
    int32_t multiplier;     /* 16: the layer's (per-tensor) short requantization */
    int32_t round;          /* 20 */
    int32_t shift;          /* 24 */
    const int8_t *out_end;  /* 28: after the last pair's outputs */
    int8_t *out;            /* 32: of the next pair */
} tg_fc_frame;

typedef char tg_fc_frame_layout[(offsetof(tg_fc_frame, bias) == 12 && offsetof(tg_fc_frame, multiplier) == 16 &&
                                 offsetof(tg_fc_frame, out) == 32)
                                    ? 1
                                    : -1];

/* The same for per-channel requantization: bytes 16-24 hold the next pair's multipliers and shifts and
 * the output offset as 2 offset + 1, from which each row's rounding term (tg_dsp_short_prepare) is
 * (2 offset + 1) 2^(e-1) = 2^(e-1) + offset 2^e, |it| < 2^30 for e <= 23. */
typedef struct {
    int32_t depth;             /*  0 */
    const uint32_t *x;         /*  4 */
    int32_t blocks;            /*  8 */
    const int32_t *bias;       /* 12: of the next pair */
    const int32_t *multiplier; /* 16: of the next pair (4-byte aligned: read by LDRD) */
    const int8_t *shift;       /* 20: of the next pair, each in [-23, -1] */
    int32_t odd_offset;        /* 24: 2 output_offset + 1 */
    const int8_t *out_end;     /* 28 */
    int8_t *out;               /* 32 */
} tg_fc_pc_frame;

typedef char tg_fc_pc_frame_layout[(offsetof(tg_fc_pc_frame, bias) == 12 &&
                                    offsetof(tg_fc_pc_frame, multiplier) == 16 && offsetof(tg_fc_pc_frame, out) == 32)
                                       ? 1
                                       : -1];

/* Every pair of output rows, from frame->out to frame->out_end (an even number >= 2), weights from w
 * (4-byte aligned): the whole loop in assembly, `body` (chunks of 8 inputs) per iteration of the
 * inner loop, then `tail`: the requantization of r0 / r1, the stores and the pair's bookkeeping, r12 =
 * frame + 16, r3 = the next pair's weights, free: r2, r4-r6, r8-r11, lr. TG_FC_PAIRS (per tensor)
 * takes 23 instructions per pair besides the 19 per chunk and 2 per iteration, TG_FC_PAIRS_PC (per
 * channel) 33. */
#define TG_FC_PAIRS_WITH(body, tail)                                                                     \
    register void *f __asm__("r0") = frame;                                                              \
    register const int8_t *wp __asm__("r2") = w;                                                         \
    __asm__ volatile("add r1, r0, #16\n\t"                                                               \
                     "push {r0, r1}\n\t"                                                                 \
                     "2:\n\t"                                                                            \
                     "ldr r12, [sp]\n\t"                                                                 \
                     "ldm r12, {r3, r4, r5, r6}\n\t"                                                     \
                     "ldrd r0, r1, [r6], #8\n\t"                                                         \
                     "str r6, [r12, #12]\n\t"                                                            \
                     "add r3, r2, r3\n\t"                                                                \
                     "1:\n\t" body "subs r5, r5, #1\n\t"                                                 \
                     "bne 1b\n\t"                                                                        \
                     "ldr r12, [sp, #4]\n\t" tail "mov r2, r3\n\t"                                       \
                     "cmp r11, r10\n\t"                                                                  \
                     "bne 2b\n\t"                                                                        \
                     "add sp, sp, #8"                                                                    \
                     : "+r"(f), "+r"(wp)                                                                 \
                     :                                                                                   \
                     : "r1", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory")

/* Per tensor (tg_fc_frame): one short requantization (r6 multiplier, r8 round, r9 shift) for both. */
#define TG_FC_TAIL                                                                                       \
    "ldm r12, {r6, r8, r9, r10, r11}\n\t"                                                               \
    "lsl r0, r0, #1\n\t"                                                                                \
    "add lr, r8, r0, asr #31\n\t"                                                                       \
    "smmlar r0, r0, r6, lr\n\t"                                                                         \
    "asr r0, r0, r9\n\t"                                                                                \
    "ssat r0, #8, r0\n\t"                                                                               \
    "lsl r1, r1, #1\n\t"                                                                                \
    "add lr, r8, r1, asr #31\n\t"                                                                       \
    "smmlar r1, r1, r6, lr\n\t"                                                                         \
    "asr r1, r1, r9\n\t"                                                                                \
    "ssat r1, #8, r1\n\t"                                                                               \
    "strb r0, [r11], #1\n\t"                                                                            \
    "strb r1, [r11], #1\n\t"                                                                            \
    "str r11, [r12, #16]\n\t"

/* Per channel (tg_fc_pc_frame): accumulator a with multiplier m, its shift -e read from [r8], r8++, the
 * rounding term (r9 = 2 offset + 1) << (e - 1) -- MVN of -e is e - 1 -- as tg_dsp_short. */
#define TG_FC_PC_ROW(a, m)                                                                               \
    "ldrsb lr, [r8], #1\n\t"                                                                            \
    "mvn r2, lr\n\t"                                                                                    \
    "lsl r2, r9, r2\n\t"                                                                                \
    "lsl " a ", " a ", #1\n\t"                                                                           \
    "add r2, r2, " a ", asr #31\n\t"                                                                     \
    "smmlar " a ", " a ", " m ", r2\n\t"                                                                  \
    "rsb lr, lr, #0\n\t"                                                                                \
    "asr " a ", " a ", lr\n\t"                                                                           \
    "ssat " a ", #8, " a "\n\t"

#define TG_FC_PC_TAIL                                                                                    \
    "ldm r12, {r6, r8, r9, r10, r11}\n\t"                                                               \
    "ldrd r4, r5, [r6], #8\n\t" TG_FC_PC_ROW("r0", "r4") TG_FC_PC_ROW("r1", "r5")                          \
    "strb r0, [r11], #1\n\t"                                                                            \
    "strb r1, [r11], #1\n\t"                                                                            \
    "strd r6, r8, [r12]\n\t"                                                                            \
    "str r11, [r12, #16]\n\t"

#define TG_FC_PAIRS(body) TG_FC_PAIRS_WITH(body, TG_FC_TAIL)
#define TG_FC_PAIRS_PC(body) TG_FC_PAIRS_WITH(body, TG_FC_PC_TAIL)
/* clang-format on */

/* Does the short requantization hold for every channel (every shift in [-23, -1], accumulators below
 * 2^29), with the full int8 range (the assembly clamps by SSAT only)? Shared with the direct variant. */
TG_INLINE int32_t tg_fc_short_applies(const tg_fully_connected_params *p)
{
    int32_t n;
    if (p->activation_min > -128 || p->activation_max < 127) {
        return 0;
    }
    if (!p->per_channel) {
        return tg_dsp_short_applies(p->accumulator_bits, p->shift[0]);
    }
    for (n = 0; n < p->output_depth; ++n) {
        if (!tg_dsp_short_applies(p->accumulator_bits, p->shift[n])) {
            return 0;
        }
    }
    return 1;
}

/* Does the whole-layer assembly apply (else the variants call tg_fully_connected_s8)? 4-byte aligned
 * weight rows of a multiple of 8, a bias, the short requantization for every channel, the full int8
 * range. tinygen/ops/fully_connected.py mirrors this. */
TG_INLINE int32_t tg_fc_layer_applies(const tg_context *ctx, const tg_fully_connected_params *p, int32_t multiple)
{
    return ctx != NULL && ctx->buf != NULL && ctx->size >= 8 * ((p->input_depth + 3) / 4) &&
           ((uintptr_t)p->weights & 3u) == 0 && p->input_depth > 0 && p->input_depth % multiple == 0 &&
           p->output_depth >= 2 && p->bias != NULL && tg_fc_short_applies(p);
}

/* The plain kernel over an odd last output row (row `even` of `output`, for one input row). */
TG_INLINE void tg_fc_last_row(const tg_fully_connected_params *p, const int8_t *input, int8_t *output, int32_t even)
{
    tg_fully_connected_params last = *p;
    last.rows = 1;
    last.output_depth = 1;
    last.weights = p->weights + even * p->input_depth;
    last.bias = p->bias + even;
    if (p->per_channel) {
        last.multiplier = p->multiplier + even;
        last.shift = p->shift + even;
    }
    tg_fully_connected_s8(NULL, &last, input, output + even);
}

/* The layer, per tensor: per input row, widen it, run `pairs` over the pairs of output rows and the
 * plain kernel over an odd last one. */
TG_INLINE void tg_fc_layer(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                           int8_t *output, int32_t blocks, void (*pairs)(tg_fc_frame *, const int8_t *))
{
    const int32_t depth = p->input_depth, outputs = p->output_depth, even = outputs & ~1;
    tg_dsp_short_t q;
    int32_t r;
    tg_dsp_short_prepare(&q, p->multiplier[0], p->shift[0], p->output_offset);
    for (r = 0; r < p->rows; ++r, input += depth, output += outputs) {
        tg_fc_frame frame;
        tg_dsp_widen((uint32_t *)ctx->buf, 2, input, depth, tg_pair(p->input_offset));
        frame.depth = depth;
        frame.x = (const uint32_t *)ctx->buf;
        frame.blocks = blocks;
        frame.bias = p->bias;
        frame.multiplier = q.multiplier;
        frame.round = q.round;
        frame.shift = q.shift;
        frame.out_end = output + even;
        frame.out = output;
        pairs(&frame, p->weights);
        if (outputs & 1) {
            tg_fc_last_row(p, input, output, even);
        }
    }
}

/* The same per channel, `pairs` reading each row's multiplier and shift (a function of its own, so
 * that the per-tensor path keeps its registers). */
static __attribute__((noinline, unused)) void tg_fc_layer_pc(const tg_context *ctx, const tg_fully_connected_params *p,
                                                             const int8_t *input, int8_t *output, int32_t blocks,
                                                             void (*pairs)(tg_fc_pc_frame *, const int8_t *))
{
    const int32_t depth = p->input_depth, outputs = p->output_depth, even = outputs & ~1;
    int32_t r;
    for (r = 0; r < p->rows; ++r, input += depth, output += outputs) {
        tg_fc_pc_frame frame;
        tg_dsp_widen((uint32_t *)ctx->buf, 2, input, depth, tg_pair(p->input_offset));
        frame.depth = depth;
        frame.x = (const uint32_t *)ctx->buf;
        frame.blocks = blocks;
        frame.bias = p->bias;
        frame.multiplier = p->multiplier;
        frame.shift = p->shift;
        frame.odd_offset = 2 * p->output_offset + 1;
        frame.out_end = output + even;
        frame.out = output;
        pairs(&frame, p->weights);
        if (outputs & 1) {
            tg_fc_last_row(p, input, output, even);
        }
    }
}

#endif /* TG_FULLY_CONNECTED_DSP_H */
