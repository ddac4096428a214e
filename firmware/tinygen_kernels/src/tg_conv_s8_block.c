/* tg_conv_block_s8: the output stage shared by the DSP convolution variants (tg_conv_1x1_s8,
 * tg_conv_im2col_s8): every output channel of a block of up to 8 output pixels whose input taps have
 * been widened into `block` (tg_dsp.h layout: per 4 pixels, ceil(taps / 4) groups of 8 words).
 * Bit-exact with tg_conv_s8's arithmetic: acc = bias + sum w * (x + input_offset) in int32, then
 * tg_requantize, output offset, clamp. */
#include "tg_conv.h"
#include "tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)

/* Per output channel (or one, per tensor) the short requantization (tg_dsp.h), or shift 0 where the
 * channel needs the general one. */
void tg_conv_requant_table(const tg_conv_params *p, tg_dsp_short_t *table)
{
    const int32_t channels = p->per_channel ? p->output.c : 1;
    const int32_t full = p->activation_min <= -128 && p->activation_max >= 127;
    int32_t c;
    for (c = 0; c < channels; ++c) {
        if (full && tg_dsp_short_applies(p->accumulator_bits, p->shift[c])) {
            tg_dsp_short_prepare(&table[c], p->multiplier[c], p->shift[c], p->output_offset);
        } else {
            table[c].shift = 0;
        }
    }
}

/* out[j * C_out + oc] for j < valid (<= 8), every oc; out points at the block's first output pixel. */
void tg_conv_block_s8(const tg_conv_params *p, const tg_dsp_short_t *table, const uint32_t *block, int32_t taps,
                      int8_t *out, int32_t valid)
{
    const int32_t out_c = p->output.c, step = p->per_channel ? 1 : 0;
    const int32_t groups = taps >> 2, tail = taps & 3;
    const int32_t half = 8 * ((taps + 3) >> 2); /* words of 4 pixels */
    const int8_t *w = p->weights;
    int32_t oc, j;
    for (oc = 0; oc < out_c; ++oc, w += taps, table += step) {
        const int32_t bias = p->bias ? p->bias[oc] : 0;
        int8_t *dst = out + oc;
        int32_t acc[8];
        /* With a partial last group, every row but the last reads its group whole: the bytes past
         * the row (the next row's first weights) meet widened zeros. */
        const int32_t whole = tail > 0 && oc + 1 < out_c ? groups + 1 : groups;
        tg_dsp_mac_1x4_bias(acc, bias, w, block, whole);
        if (valid > 4) {
            tg_dsp_mac_1x4_bias(acc + 4, bias, w, block + half, whole);
        }
        if (whole == groups && tail > 0) {
            const uint32_t tail_weights = tg_dsp_read_partial(w + 4 * groups, tail, 0);
            tg_dsp_mac_1x4(acc, (const int8_t *)&tail_weights, block + 8 * groups, 1);
            if (valid > 4) {
                tg_dsp_mac_1x4(acc + 4, (const int8_t *)&tail_weights, block + half + 8 * groups, 1);
            }
        }
        if (table->shift != 0) {
            const tg_dsp_short_t q = *table;
            for (j = 0; j < valid; ++j, dst += out_c) {
                *dst = (int8_t)tg_ssat8(tg_dsp_short(2 * acc[j], &q));
            }
        } else {
            const int32_t q = p->per_channel ? oc : 0;
            tg_dsp_requant_t rq;
            tg_dsp_requant_prepare(&rq, p->multiplier[q], p->shift[q]);
            for (j = 0; j < valid; ++j, dst += out_c) {
                const int32_t v = tg_dsp_requant(acc[j], &rq) + p->output_offset;
                *dst = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
            }
        }
    }
}

#else
typedef int tg_conv_block_s8_needs_dsp; /* (ISO C forbids an empty file) */
#endif
