/* tg_depthwise_rows_s8: the input rows of tg_depthwise_conv_fast_s8, the general DSP depthwise variant,
 * and its per-channel-group setup (tg_depthwise_conv_3x3_s8 rolls its 3 rows itself, in the same
 * order: every row widened once per channel group, before the first output row that reads it).
 *
 * A depthwise variant works on 4 output channels at a time. The input rows it needs are widened to
 * int16 (+ input offset) into a ring of (KH - 1) * dilation_h + 1 row slots in the scratch buffer, each
 * covering the columns the output row reads (padding columns and rows are 0, the contribution of a
 * padded tap): per column one even and one odd word (tg_dsp.h), i.e. lanes (c0, c2) and (c1, c3).
 * Every input row is widened once per channel group, then read by KH output rows. */
#include "tg_conv.h"
#include "internal/tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_depthwise_rows.h"

TG_COLD void tg_depthwise_rows_init(tg_depthwise_rows *rows, const tg_conv_params *p, uint32_t *buf)
{
    rows->slots = (p->filter.h - 1) * p->dilation.h + 1;
    rows->width = (p->output.w - 1) * p->stride.w + (p->filter.w - 1) * p->dilation.w + 1;
    rows->buf = buf;
}

TG_COLD void tg_depthwise_group_begin(tg_depthwise_rows *rows, const tg_conv_params *p, int32_t c0)
{
    const int32_t lanes = TG_MIN(4, p->output.c - c0);
    int32_t s, j;
    rows->c0 = c0;
    rows->lanes = lanes;
    for (s = 0; s < rows->slots && s < TG_DEPTHWISE_MAX_SLOTS; ++s) {
        rows->tag[s] = INT32_MIN;
    }
    for (j = 0; j < 4; ++j) {
        rows->bias[j] = p->bias ? p->bias[c0 + TG_MIN(j, lanes - 1)] : 0;
    }
}

TG_COLD void tg_depthwise_group_requant(tg_depthwise_rows *rows, const tg_conv_params *p)
{
    int32_t j;
    for (j = 0; j < 4; ++j) {
        const int32_t c = rows->c0 + TG_MIN(j, rows->lanes - 1);
        tg_dsp_requant_prepare(&rows->requant[j], p->multiplier[p->per_channel ? c : 0],
                               p->shift[p->per_channel ? c : 0]);
    }
    rows->fast_store = rows->lanes == 4 && rows->requant[0].fast && rows->requant[1].fast && rows->requant[2].fast &&
                       rows->requant[3].fast && p->activation_min <= -128 && p->activation_max >= 127;
}

static void tg_zero_words(uint32_t *dst, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        dst[i] = 0;
    }
}

/* Widen input row iy for the current channel group into its slot (tg_depthwise_row checks the tag). */
uint32_t *tg_depthwise_fill_row(tg_depthwise_rows *rows, const tg_conv_params *p, const int8_t *input, int32_t iy,
                                uint32_t *dst)
{
    const int32_t width = rows->width;
    const int32_t in_w = p->input.w, in_c = p->input.c, lanes = rows->lanes;
    const uint32_t offsets = tg_pair(p->input_offset);
    int32_t left, right, col;
    if (iy < 0 || iy >= p->input.h) {
        tg_zero_words(dst, 2 * width);
        return dst;
    }
    /* columns [0, left) and [right, width) are padding: input x = column - padding.left */
    left = TG_MIN(width, p->padding.left);
    right = TG_MAX(left, TG_MIN(width, in_w + p->padding.left));
    tg_zero_words(dst, 2 * left);
    tg_zero_words(dst + 2 * right, 2 * (width - right));
    if (p->depth_multiplier == 1 && lanes == 4) {
        const int8_t *src = input + (iy * in_w + left - p->padding.left) * in_c + rows->c0;
        uint32_t *out = dst + 2 * left;
        for (col = left; col < right; ++col, src += in_c, out += 2) {
            const uint32_t raw = tg_read_u32(src);
            out[0] = tg_sxtab16(offsets, raw);
            out[1] = tg_sxtab16_ror8(offsets, raw);
        }
        return dst;
    }
    for (col = left; col < right; ++col) {
        const int8_t *src = input + (iy * in_w + col - p->padding.left) * in_c;
        uint32_t raw = 0;
        int32_t j;
        for (j = 0; j < 4; ++j) { /* output channel c reads input channel c / multiplier */
            const int32_t c = rows->c0 + TG_MIN(j, lanes - 1);
            raw |= (uint32_t)(uint8_t)src[c / p->depth_multiplier] << (8 * j);
        }
        dst[2 * col] = tg_sxtab16(offsets, raw);
        dst[2 * col + 1] = tg_sxtab16_ror8(offsets, raw);
    }
    return dst;
}

#else
typedef int tg_depthwise_rows_needs_dsp; /* (ISO C forbids an empty file) */
#endif
