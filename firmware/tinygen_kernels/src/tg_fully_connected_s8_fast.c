/* tg_fully_connected_fast_s8: fully connected layer (matrix times vector, per input row). Must equal
 * tg_fully_connected_s8 (the plain C reference), and falls back to it on cores without the DSP
 * extension.
 *
 * DSP: the input row is widened once to int16 (+ input offset) in the scratch buffer (tg_dsp.h layout),
 * then two output rows at a time: per 8 inputs one LDM of the 4 input words, and per row one LDRD of 8
 * weights, four SXTB16 and four SMLAD -- 19 instructions for 16 MACs, each weight read once. */
#include <stddef.h>
#include <stdint.h>

#include "tg_fully_connected.h"
#include "tg_dsp.h"

int32_t tg_fully_connected_fast_s8_get_buffer_size(const tg_fully_connected_params *params)
{
    return 8 * ((params->input_depth + 3) / 4); /* the widened input row: 2 words per 4 values */
}

#if defined(__ARM_FEATURE_DSP)
/* 8 inputs (x words r8..r11) into two rows: LDRD of each row's 8 weights, then SXTB16 / SMLAD. */
#define TG_FC_CHUNK                                                                                      \
    "ldmia %[xp]!, {r8, r9, r10, r11}\n\t"                                                              \
    "ldrd r6, lr, [%[w0]], #8\n\t"                                                                      \
    "sxtb16 r12, r6\n\t"                                                                                 \
    "smlad %[a0], r12, r8, %[a0]\n\t"                                                                   \
    "sxtb16 r12, r6, ror #8\n\t"                                                                         \
    "smlad %[a0], r12, r9, %[a0]\n\t"                                                                   \
    "sxtb16 r12, lr\n\t"                                                                                 \
    "smlad %[a0], r12, r10, %[a0]\n\t"                                                                  \
    "sxtb16 r12, lr, ror #8\n\t"                                                                         \
    "smlad %[a0], r12, r11, %[a0]\n\t"                                                                  \
    "ldrd r6, lr, [%[w1]], #8\n\t"                                                                      \
    "sxtb16 r12, r6\n\t"                                                                                 \
    "smlad %[a1], r12, r8, %[a1]\n\t"                                                                   \
    "sxtb16 r12, r6, ror #8\n\t"                                                                         \
    "smlad %[a1], r12, r9, %[a1]\n\t"                                                                   \
    "sxtb16 r12, lr\n\t"                                                                                 \
    "smlad %[a1], r12, r10, %[a1]\n\t"                                                                  \
    "sxtb16 r12, lr, ror #8\n\t"                                                                         \
    "smlad %[a1], r12, r11, %[a1]\n\t"

/* acc[0] += row w0 . x, acc[1] += row w1 . x over `chunks` chunks of 8 (w0, w1 4-byte aligned). */
static void tg_fc_rows2(int32_t acc[2], const int8_t *w0, const int8_t *w1, const uint32_t *x, int32_t chunks)
{
    register int32_t a0 __asm__("r0") = acc[0];
    register int32_t a1 __asm__("r1") = acc[1];
    register const int8_t *wp0 __asm__("r2") = w0;
    register const int8_t *wp1 __asm__("r3") = w1;
    register const uint32_t *xp __asm__("r4") = x;
    register int32_t quads __asm__("r5") = chunks >> 2;
    int32_t rest = chunks & 3;
    if (quads > 0) {
        __asm__ volatile("1:\n\t" TG_FC_CHUNK TG_FC_CHUNK TG_FC_CHUNK TG_FC_CHUNK
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [w0] "+r"(wp0), [w1] "+r"(wp1), [xp] "+r"(xp), [n] "+r"(quads)
                         :
                         : "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
    }
    for (; rest > 0; --rest) {
        __asm__ volatile(TG_FC_CHUNK
                         : [a0] "+r"(a0), [a1] "+r"(a1), [w0] "+r"(wp0), [w1] "+r"(wp1), [xp] "+r"(xp)
                         :
                         : "r6", "r8", "r9", "r10", "r11", "r12", "lr", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
}

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

#define TG_FC_CHUNK4 TG_FC_CHUNK_R TG_FC_CHUNK_R TG_FC_CHUNK_R TG_FC_CHUNK_R

/* K a multiple of 128: 16 chunks per iteration (frame->blocks = K / 128). */
static void tg_fc_pairs_128(tg_fc_frame *frame, const int8_t *w)
{
    TG_FC_PAIRS(TG_FC_CHUNK4 TG_FC_CHUNK4 TG_FC_CHUNK4 TG_FC_CHUNK4);
}

/* K a multiple of 8: one chunk per iteration (frame->blocks = K / 8). */
static void tg_fc_pairs_8(tg_fc_frame *frame, const int8_t *w)
{
    TG_FC_PAIRS(TG_FC_CHUNK_R);
}

/* acc += w . x over `groups` groups of 4 (any alignment). */
static int32_t tg_fc_row(int32_t acc, const int8_t *w, const uint32_t *x, int32_t groups)
{
    int32_t g;
    for (g = 0; g < groups; ++g, w += 4, x += 2) {
        const uint32_t raw = tg_read_u32(w);
        acc = tg_smlad(tg_sxtb16(raw), x[0], acc);
        acc = tg_smlad(tg_sxtb16_ror8(raw), x[1], acc);
    }
    return acc;
}

static int8_t tg_fc_output(const tg_fully_connected_params *p, int32_t acc, int32_t n)
{
    const int32_t q = p->per_channel ? n : 0, shift = p->shift[q];
    int32_t v;
    if (tg_dsp_short_applies(p->accumulator_bits, shift)) {
        tg_dsp_short_t s;
        tg_dsp_short_prepare(&s, p->multiplier[q], shift, p->output_offset);
        v = tg_dsp_short(2 * acc, &s);
    } else {
        v = tg_requantize(acc, p->multiplier[q], shift) + p->output_offset;
    }
    return (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
}
#endif

void tg_fully_connected_fast_s8(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                                int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t depth = p->input_depth, outputs = p->output_depth;
    const int32_t groups = depth >> 2, tail = depth & 3, whole = groups * 4;
    const int32_t aligned = ((uintptr_t)p->weights & 3u) == 0 && (depth & 3) == 0;
    /* the whole layer in assembly: per-tensor short requantization, full int8 range, K = 8 k */
    const int32_t layer_loop = aligned && depth % 8 == 0 && depth > 0 && !p->per_channel && p->bias != NULL &&
                               tg_dsp_short_applies(p->accumulator_bits, p->shift[0]) &&
                               p->activation_min <= -128 && p->activation_max >= 127;
    tg_dsp_short_t rq;
    const uint32_t *x;
    int32_t r, n;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < tg_fully_connected_fast_s8_get_buffer_size(p)) {
        tg_fully_connected_s8(ctx, p, input, output);
        return;
    }
    x = (const uint32_t *)ctx->buf;
    tg_dsp_short_prepare(&rq, p->multiplier[0], TG_MIN(p->shift[0], -1), p->output_offset);
    for (r = 0; r < p->rows; ++r, input += depth, output += outputs) {
        tg_dsp_widen((uint32_t *)ctx->buf, 2, input, depth, tg_pair(p->input_offset));
        n = 0;
        if (layer_loop && outputs >= 2) {
            tg_fc_frame frame;
            frame.depth = depth;
            frame.x = x;
            frame.blocks = depth % 128 == 0 ? depth / 128 : depth / 8;
            frame.bias = p->bias;
            frame.multiplier = rq.multiplier;
            frame.round = rq.round;
            frame.shift = rq.shift;
            n = outputs & ~1;
            frame.out_end = output + n;
            frame.out = output;
            if (depth % 128 == 0) {
                tg_fc_pairs_128(&frame, p->weights);
            } else {
                tg_fc_pairs_8(&frame, p->weights);
            }
        }
        for (; n < outputs; n += 2) {
            const int32_t second = TG_MIN(n + 1, outputs - 1);
            const int8_t *w0 = p->weights + n * depth, *w1 = p->weights + second * depth;
            int32_t acc[2];
            acc[0] = p->bias ? p->bias[n] : 0;
            acc[1] = p->bias ? p->bias[second] : 0;
            if (aligned) {
                tg_fc_rows2(acc, w0, w1, x, groups >> 1);
                if (groups & 1) {
                    acc[0] = tg_fc_row(acc[0], w0 + whole - 4, x + 2 * groups - 2, 1);
                    acc[1] = tg_fc_row(acc[1], w1 + whole - 4, x + 2 * groups - 2, 1);
                }
            } else {
                acc[0] = tg_fc_row(acc[0], w0, x, groups);
                acc[1] = tg_fc_row(acc[1], w1, x, groups);
            }
            if (tail > 0) {
                const uint32_t t0 = tg_dsp_read_partial(w0 + whole, tail, 0);
                const uint32_t t1 = tg_dsp_read_partial(w1 + whole, tail, 0);
                acc[0] = tg_fc_row(acc[0], (const int8_t *)&t0, x + 2 * groups, 1);
                acc[1] = tg_fc_row(acc[1], (const int8_t *)&t1, x + 2 * groups, 1);
            }
            output[n] = tg_fc_output(p, acc[0], n);
            if (second != n) {
                output[second] = tg_fc_output(p, acc[1], second);
            }
        }
    }
#else
    tg_fully_connected_s8(ctx, p, input, output);
#endif
}
