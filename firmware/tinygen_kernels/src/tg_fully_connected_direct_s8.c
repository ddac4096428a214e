/* tg_fully_connected_direct_s8: fully connected layer without scratch, for input depths K a multiple of
 * 16. The weights come interleaved (tg_fully_connected.h: blocks of 4 output rows x 4 inputs), so that
 * one pointer walks them in the order they are used. Must equal tg_fully_connected_s8 on the same
 * weights in row-major order; its plain loop below serves cores without the DSP extension and layers
 * the assembly does not take.
 *
 * DSP: 4 output rows at a time, the input read as it is: per 4 inputs one load and two SXTAB16 (the
 * input offset added as they widen), one LDM per 2 rows' 4 weights, and per row two SXTB16 and two
 * SMLAD -- 21 instructions for 16 MACs (about 1.34 per MAC with the loop), against 19 for 16 in
 * tg_fully_connected_fast_s8, which first widens the whole input row into scratch. */
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
/* What the layer loop reads and advances, at the byte offsets of its assembly (checked below). */
typedef struct {
    const int8_t *x;       /*  0: the input row */
    const int8_t *w;       /*  4: the next block's weights */
    int32_t steps;         /*  8: K / 16 */
    uint32_t offsets;      /* 12: the input offset in both int16 lanes */
    const int32_t *bias;   /* 16: the next block's biases */
    int32_t multiplier;    /* 20: the layer's short requantization (tg_dsp.h) */
    int32_t round;         /* 24 */
    int32_t shift;         /* 28 */
    int8_t *out;           /* 32: the next block's outputs */
    const int8_t *out_end; /* 36: after the last block's */
} tg_fc_direct_frame;

typedef char tg_fc_direct_frame_layout[(offsetof(tg_fc_direct_frame, offsets) == 12 &&
                                        offsetof(tg_fc_direct_frame, multiplier) == 20 &&
                                        offsetof(tg_fc_direct_frame, out_end) == 36)
                                           ? 1
                                           : -1];

/* The same for per-channel requantization: bytes 20-28 hold the next block's multipliers and shifts and
 * the output offset as 2 offset + 1, each row's rounding term being (2 offset + 1) 2^(e-1) (as in
 * internal/tg_fully_connected_dsp.h). */
typedef struct {
    const int8_t *x;           /*  0 */
    const int8_t *w;           /*  4 */
    int32_t steps;             /*  8 */
    uint32_t offsets;          /* 12 */
    const int32_t *bias;       /* 16 */
    const int32_t *multiplier; /* 20: of the next block */
    const int8_t *shift;       /* 24: of the next block, each in [-23, -1] */
    int32_t odd_offset;        /* 28: 2 output_offset + 1 */
    int8_t *out;               /* 32 */
    const int8_t *out_end;     /* 36 */
} tg_fc_direct_pc_frame;

typedef char tg_fc_direct_pc_frame_layout[(offsetof(tg_fc_direct_pc_frame, offsets) == 12 &&
                                           offsetof(tg_fc_direct_pc_frame, multiplier) == 20 &&
                                           offsetof(tg_fc_direct_pc_frame, out_end) == 36)
                                              ? 1
                                              : -1];

/* clang-format off */
/* Rows 0-1 or 2-3 of 4 inputs: weights words in r11 / r12, input lanes in r10 (even) / r9 (odd). */
#define TG_FC_DIRECT_PAIR(a, b)                                                                          \
    "ldm r5!, {r11, r12}\n\t"                                                                            \
    "sxtb16 lr, r11\n\t"                                                                                 \
    "smlad " a ", lr, r10, " a "\n\t"                                                                    \
    "sxtb16 r11, r11, ror #8\n\t"                                                                        \
    "smlad " a ", r11, r9, " a "\n\t"                                                                    \
    "sxtb16 lr, r12\n\t"                                                                                 \
    "smlad " b ", lr, r10, " b "\n\t"                                                                    \
    "sxtb16 r12, r12, ror #8\n\t"                                                                        \
    "smlad " b ", r12, r9, " b "\n\t"

/* Accumulator a requantized (short form: r4 multiplier, r6 round, r8 shift) and stored at [r9], r9++. */
#define TG_FC_DIRECT_STORE(a)                                                                            \
    "lsl " a ", " a ", #1\n\t"                                                                           \
    "add r11, r6, " a ", asr #31\n\t"                                                                    \
    "smmlar " a ", " a ", r4, r11\n\t"                                                                   \
    "asr " a ", " a ", r8\n\t"                                                                           \
    "ssat " a ", #8, " a "\n\t"                                                                          \
    "strb " a ", [r9], #1\n\t"

/* Per channel: accumulator a requantized with the multiplier at [r4], r4 += 4, the shift -e at [r6],
 * r6++, the rounding term (r8 = 2 offset + 1) << (e - 1) -- MVN of -e is e - 1 --, stored at [r9], r9++. */
#define TG_FC_DIRECT_STORE_PC(a)                                                                         \
    "ldr r5, [r4], #4\n\t"                                                                              \
    "ldrsb lr, [r6], #1\n\t"                                                                            \
    "mvn r11, lr\n\t"                                                                                   \
    "lsl r11, r8, r11\n\t"                                                                              \
    "lsl " a ", " a ", #1\n\t"                                                                           \
    "add r11, r11, " a ", asr #31\n\t"                                                                   \
    "smmlar " a ", " a ", r5, r11\n\t"                                                                   \
    "rsb lr, lr, #0\n\t"                                                                                \
    "asr " a ", " a ", lr\n\t"                                                                           \
    "ssat " a ", #8, " a "\n\t"                                                                          \
    "strb " a ", [r9], #1\n\t"

/* Every block of 4 rows (frame->out to frame->out_end): the biases, the sums over K inputs, 16 per
 * iteration, then `tail` (r12 = the frame; r4, r6, r8, r9 = its words 20-32; r10 = out_end): the
 * requantization and the stores. */
#define TG_FC_DIRECT_LAYER(tail)                                                                         \
    register void *f __asm__("r0") = frame;                                                              \
    __asm__ volatile("push {r0}\n\t"                                                                     \
                     "2:\n\t"                                                                            \
                     "ldr r12, [sp]\n\t"                                                                 \
                     "ldm r12, {r4, r5, r6, r8, lr}\n\t"                                                 \
                     "ldm lr!, {r0, r1, r2, r3}\n\t"                                                     \
                     "str lr, [r12, #16]\n\t"                                                            \
                     "1:\n\t"                                                                            \
                     ".rept 4\n\t"                                                                       \
                     "ldr r9, [r4], #4\n\t"                                                              \
                     "sxtab16 r10, r8, r9\n\t"                                                           \
                     "sxtab16 r9, r8, r9, ror #8\n\t" TG_FC_DIRECT_PAIR("r0", "r1")                      \
                         TG_FC_DIRECT_PAIR("r2", "r3") ".endr\n\t"                                       \
                     "subs r6, r6, #1\n\t"                                                               \
                     "bne 1b\n\t"                                                                        \
                     "ldr r12, [sp]\n\t"                                                                 \
                     "str r5, [r12, #4]\n\t"                                                             \
                     "add lr, r12, #20\n\t"                                                              \
                     "ldm lr, {r4, r6, r8, r9, r10}\n\t" tail "str r9, [r12, #32]\n\t"                   \
                     "cmp r9, r10\n\t"                                                                   \
                     "bne 2b\n\t"                                                                        \
                     "add sp, sp, #4"                                                                    \
                     : "+r"(f)                                                                           \
                     :                                                                                   \
                     : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory")

static void tg_fc_direct_layer(tg_fc_direct_frame *frame)
{
    TG_FC_DIRECT_LAYER(TG_FC_DIRECT_STORE("r0") TG_FC_DIRECT_STORE("r1") TG_FC_DIRECT_STORE("r2")
                           TG_FC_DIRECT_STORE("r3"));
}

static void tg_fc_direct_layer_pc(tg_fc_direct_pc_frame *frame)
{
    TG_FC_DIRECT_LAYER(TG_FC_DIRECT_STORE_PC("r0") TG_FC_DIRECT_STORE_PC("r1") TG_FC_DIRECT_STORE_PC("r2")
                           TG_FC_DIRECT_STORE_PC("r3") "strd r4, r6, [r12, #20]\n\t");
}
/* clang-format on */

/* Does the assembly take the layer: K a multiple of 16, 4-byte aligned weights, a bias, at least 4
 * rows, the short requantization for every channel and the full int8 range (tg_fc_short_applies).
 * tinygen/ops/fully_connected.py mirrors this. */
TG_INLINE int32_t tg_fc_direct_applies(const tg_fully_connected_params *p)
{
    return p->input_depth > 0 && p->input_depth % 16 == 0 && ((uintptr_t)p->weights & 3u) == 0 &&
           p->output_depth >= 4 && p->bias != NULL && tg_fc_short_applies(p);
}

/* The same for a per-tensor layer, in the order that costs it least. */
TG_INLINE int32_t tg_fc_direct_tensor_applies(const tg_fully_connected_params *p)
{
    return p->input_depth > 0 && p->input_depth % 16 == 0 && ((uintptr_t)p->weights & 3u) == 0 &&
           p->output_depth >= 4 && !p->per_channel && p->bias != NULL &&
           tg_dsp_short_applies(p->accumulator_bits, p->shift[0]) && p->activation_min <= -128 &&
           p->activation_max >= 127;
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* The layer with per-channel requantization (a function of its own, so that the per-tensor path below
 * keeps its registers). */
static __attribute__((noinline)) void tg_fc_direct_per_channel(const tg_fully_connected_params *p,
                                                               const int8_t *input, int8_t *output)
{
    const int32_t applies = tg_fc_direct_applies(p);
    int32_t r;
    for (r = 0; r < p->rows; ++r, input += p->input_depth, output += p->output_depth) {
        int32_t first = 0;
        if (applies) {
            tg_fc_direct_pc_frame frame;
            first = p->output_depth & ~3;
            frame.x = input;
            frame.w = p->weights;
            frame.steps = p->input_depth / 16;
            frame.offsets = tg_pair(p->input_offset);
            frame.bias = p->bias;
            frame.multiplier = p->multiplier;
            frame.shift = p->shift;
            frame.odd_offset = 2 * p->output_offset + 1;
            frame.out = output;
            frame.out_end = output + first;
            tg_fc_direct_layer_pc(&frame);
        }
        tg_fc_direct_plain(p, input, output, first); /* the last N % 4 rows, or all */
    }
}
#endif

void tg_fully_connected_direct_s8(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                                  int8_t *output)
{
    int32_t r;
    (void)ctx;
    for (r = 0; r < p->rows; ++r, input += p->input_depth, output += p->output_depth) {
        int32_t first = 0;
#if defined(__ARM_FEATURE_DSP)
        if (tg_fc_direct_tensor_applies(p)) {
            tg_dsp_short_t q;
            tg_fc_direct_frame frame;
            first = p->output_depth & ~3;
            tg_dsp_short_prepare(&q, p->multiplier[0], p->shift[0], p->output_offset);
            frame.x = input;
            frame.w = p->weights;
            frame.steps = p->input_depth / 16;
            frame.offsets = tg_pair(p->input_offset);
            frame.bias = p->bias;
            frame.multiplier = q.multiplier;
            frame.round = q.round;
            frame.shift = q.shift;
            frame.out = output;
            frame.out_end = output + first;
            tg_fc_direct_layer(&frame);
        } else if (p->per_channel) { /* (first row) every row; tested second: no cost to per-tensor layers */
            tg_fc_direct_per_channel(p, input, output);
            return;
        }
#endif
        tg_fc_direct_plain(p, input, output, first); /* the last N % 4 rows, or all */
    }
}
