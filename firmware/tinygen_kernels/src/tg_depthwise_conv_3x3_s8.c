/* tg_depthwise_conv_3x3_s8: depthwise 3x3 convolution (channel multiplier 1, no dilation; any stride
 * and padding). Must equal tg_depthwise_conv_s8 (the plain C reference), and falls back to it on
 * cores without the DSP extension and for other shapes.
 *
 * DSP: 4 channels at a time; the input rows widened to int16 once per channel group in a ring of 3
 * row slots (tg_depthwise_rows.h), the 9 taps' weights widened once per group. Per output pixel and
 * tap: two LDRD and four 16 x 16 multiply-accumulates (SMLABB / SMLATT, one per channel lane). A whole
 * output row runs in one assembly loop, with the short requantization (tg_dsp.h; weights and bias
 * doubled, so the accumulators hold 2 acc): about 98 instructions per pixel and 4 channels (36 MACs).
 * Layers it does not take (channels not a multiple of 4, a clamp inside int8, a requantization
 * outside the short form) go to the plain kernel. */
#include <stddef.h>

#include "tg_conv.h"
#include "internal/tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_depthwise_rows.h"
#endif

/* The ring of 3 widened row slots. */
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

/* The output pixels of one row (frame->count >= 1). */
static void tg_dw3x3_row(tg_dw3x3_frame *frame)
{
    register tg_dw3x3_frame *f __asm__("r12") = frame;
    __asm__ volatile("ldr r9, [r12, #148]\n\t"
                     "ldr r10, [r12, #152]\n\t"
                     "ldr r11, [r12, #156]\n\t"
                     "ldr lr, [r12, #160]\n\t"
                     "1:\n\t"
                     "ldrd r0, r1, [r12, #72]\n\t"
                     "ldrd r2, r3, [r12, #80]\n\t" TG_DW_TAP("r9", "0", "0") TG_DW_TAP("r9", "8", "8")
                         TG_DW_TAP("r9", "16", "16") TG_DW_TAP("r10", "0", "24") TG_DW_TAP("r10", "8", "32")
                             TG_DW_TAP("r10", "16", "40") TG_DW_TAP("r11", "0", "48") TG_DW_TAP("r11", "8", "56")
                                 TG_DW_TAP("r11", "16", "64") TG_DW_STORE("r0", "88", "0") TG_DW_STORE("r1", "100", "1")
                                     TG_DW_STORE("r2", "112", "2") TG_DW_STORE("r3", "124", "3")
                     "ldr r4, [r12, #136]\n\t"
                     "add r9, r9, r4\n\t"
                     "add r10, r10, r4\n\t"
                     "add r11, r11, r4\n\t"
                     "ldr r4, [r12, #140]\n\t"
                     "add lr, lr, r4\n\t"
                     "ldr r4, [r12, #144]\n\t"
                     "subs r4, r4, #1\n\t"
                     "str r4, [r12, #144]\n\t"
                     "bne 1b"
                     :
                     : "r"(f)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "lr", "cc", "memory");
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
/* The frame of channel group c0: requantization, doubled bias, the 9 taps' weights widened and doubled
 * (the accumulators hold 2 acc). */
TG_COLD static void tg_dw3x3_group(tg_dw3x3_frame *frame, const tg_depthwise_rows *rows, const tg_conv_params *p,
                                   int32_t c0)
{
    int32_t j, t;
    for (j = 0; j < 4; ++j) {
        const int32_t q = p->per_channel ? c0 + j : 0;
        tg_dsp_short_prepare(&frame->rq[j], p->multiplier[q], p->shift[q], p->output_offset);
        frame->bias[j] = 2 * rows->bias[j];
    }
    for (t = 0; t < 9; ++t) {
        const uint32_t raw = tg_read_u32(p->weights + t * p->output.c + c0);
        frame->weights[t][0] = tg_dw_double(tg_sxtb16(raw));
        frame->weights[t][1] = tg_dw_double(tg_sxtb16_ror8(raw));
    }
}
#endif

void tg_depthwise_conv_3x3_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t out_h = p->output.h, channels = p->output.c;
    tg_depthwise_rows rows;
    tg_dw3x3_frame frame;
    int32_t c0, oy;
    if (!tg_dw3x3_applies(ctx, p)) {
        tg_depthwise_conv_s8(ctx, p, input, output);
        return;
    }
    tg_depthwise_rows_init(&rows, p, (uint32_t *)ctx->buf);
    frame.step = 8 * p->stride.w;
    frame.channels = channels;
    for (c0 = 0; c0 < channels; c0 += 4) {
        tg_depthwise_group_begin(&rows, p, c0);
        tg_dw3x3_group(&frame, &rows, p, c0);
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy = oy * p->stride.h - p->padding.top;
            frame.row[0] = tg_depthwise_row(&rows, p, input, iy);
            frame.row[1] = tg_depthwise_row(&rows, p, input, iy + 1);
            frame.row[2] = tg_depthwise_row(&rows, p, input, iy + 2);
            frame.out = output + oy * p->output.w * channels + c0;
            frame.count = p->output.w;
            tg_dw3x3_row(&frame);
        }
    }
#else
    tg_depthwise_conv_s8(ctx, p, input, output);
#endif
}
