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

/* Every pair of output rows, from frame->out to frame->out_end (an even number >= 2), weights from w
 * (4-byte aligned): the whole loop in assembly, `body` (chunks of 8 inputs) per iteration of the
 * inner loop, then the short requantization and the store: 23 instructions per pair besides the
 * 19 per chunk and 2 per iteration. */
#define TG_FC_PAIRS(body)                                                                                \
    register tg_fc_frame *f __asm__("r0") = frame;                                                       \
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
                     "ldr r12, [sp, #4]\n\t"                                                             \
                     "ldm r12, {r6, r8, r9, r10, r11}\n\t"                                               \
                     "lsl r0, r0, #1\n\t"                                                                \
                     "add lr, r8, r0, asr #31\n\t"                                                       \
                     "smmlar r0, r0, r6, lr\n\t"                                                         \
                     "asr r0, r0, r9\n\t"                                                                \
                     "ssat r0, #8, r0\n\t"                                                               \
                     "lsl r1, r1, #1\n\t"                                                                \
                     "add lr, r8, r1, asr #31\n\t"                                                       \
                     "smmlar r1, r1, r6, lr\n\t"                                                         \
                     "asr r1, r1, r9\n\t"                                                                \
                     "ssat r1, #8, r1\n\t"                                                               \
                     "strb r0, [r11], #1\n\t"                                                            \
                     "strb r1, [r11], #1\n\t"                                                            \
                     "str r11, [r12, #16]\n\t"                                                           \
                     "mov r2, r3\n\t"                                                                    \
                     "cmp r11, r10\n\t"                                                                  \
                     "bne 2b\n\t"                                                                        \
                     "add sp, sp, #8"                                                                    \
                     : "+r"(f), "+r"(wp)                                                                 \
                     :                                                                                   \
                     : "r1", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory")
/* clang-format on */

/* Does the whole-layer assembly apply (else the variants call tg_fully_connected_s8)? 4-byte aligned
 * weight rows of a multiple of 8, a bias, one per-tensor short requantization, the full int8 range. */
TG_INLINE int32_t tg_fc_layer_applies(const tg_context *ctx, const tg_fully_connected_params *p, int32_t multiple)
{
    return ctx != NULL && ctx->buf != NULL && ctx->size >= 8 * ((p->input_depth + 3) / 4) &&
           ((uintptr_t)p->weights & 3u) == 0 && p->input_depth > 0 && p->input_depth % multiple == 0 &&
           p->output_depth >= 2 && !p->per_channel && p->bias != NULL &&
           tg_dsp_short_applies(p->accumulator_bits, p->shift[0]) && p->activation_min <= -128 &&
           p->activation_max >= 127;
}

/* The layer: per input row, widen it, run `pairs` over the pairs of output rows and the plain kernel
 * over an odd last one. */
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
        if (outputs & 1) { /* the last row alone, by the plain kernel */
            tg_fully_connected_params last = *p;
            last.rows = 1;
            last.output_depth = 1;
            last.weights = p->weights + even * depth;
            last.bias = p->bias + even;
            tg_fully_connected_s8(NULL, &last, input, output + even);
        }
    }
}

#endif /* TG_FULLY_CONNECTED_DSP_H */
