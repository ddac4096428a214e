/* tg_add_fast_s8: elementwise add / subtract with broadcasting (TFLite int8 ADD). Must equal tg_add_s8
 * (the plain C reference), and falls back to it on cores without the DSP extension.
 *
 * DSP: the three requantizations of every element (each input to the common scale, the sum to the
 * output's) take the short form of tg_dsp.h (tg_dsp_short_any: shifts 0 .. -23) when the shifts allow
 * it: |(x + offset) << 20| < 2^28 and each rescaled input is below 2^28 in magnitude, so their sum is
 * inside the form's 2^29. (x + offset) << 21, the
 * doubled value the form takes, is one ADD with a shifted operand. About 20 instructions per element
 * against about 95 for the plain kernel's three general requantizations. */
#include "tg_elementwise.h"
#include "tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
static int32_t tg_add_short_applies(const tg_add_params *p)
{
    return p->left_shift == 20 && tg_dsp_short_any_applies(28, p->input1_shift) &&
           tg_dsp_short_any_applies(28, p->input2_shift) && tg_dsp_short_any_applies(29, p->output_shift);
}
#endif

void tg_add_fast_s8(const tg_context *ctx, const tg_add_params *p, const int8_t *input1, const int8_t *input2,
                    int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const tg_dims *d = &p->output, *s1 = &p->input1_strides, *s2 = &p->input2_strides;
    const int32_t offset1 = (int32_t)((uint32_t)p->input1_offset << 21);
    const int32_t offset2 = (int32_t)((uint32_t)p->input2_offset << 21);
    const int32_t full = p->activation_min <= -128 && p->activation_max >= 127;
    const int32_t step1 = s1->c, step2 = s2->c, channels = d->c, sign = p->subtract ? -1 : 1;
    tg_dsp_short_t q1, q2, qo;
    int32_t mask1, mask2, mask_out;
    int32_t i0, i1, i2, i3;
    if (!tg_add_short_applies(p)) {
        tg_add_s8(ctx, p, input1, input2, output);
        return;
    }
    tg_dsp_short_any_prepare(&q1, &mask1, p->input1_multiplier, p->input1_shift, 0);
    tg_dsp_short_any_prepare(&q2, &mask2, p->input2_multiplier, p->input2_shift, 0);
    tg_dsp_short_any_prepare(&qo, &mask_out, p->output_multiplier, p->output_shift, p->output_offset);
    for (i0 = 0; i0 < d->n; ++i0) {
        for (i1 = 0; i1 < d->h; ++i1) {
            for (i2 = 0; i2 < d->w; ++i2) {
                const int8_t *a = input1 + i0 * s1->n + i1 * s1->h + i2 * s1->w;
                const int8_t *b = input2 + i0 * s2->n + i1 * s2->h + i2 * s2->w;
                for (i3 = 0; i3 < channels; ++i3, a += step1, b += step2) {
                    const int32_t scaled1 = tg_dsp_short_any(offset1 + ((int32_t)*a << 21), &q1, mask1);
                    const int32_t scaled2 = tg_dsp_short_any(offset2 + ((int32_t)*b << 21), &q2, mask2);
                    const int32_t out = tg_dsp_short_any(2 * (scaled1 + sign * scaled2), &qo, mask_out);
                    *output++ = (int8_t)(full ? tg_ssat8(out) : TG_CLAMP(out, p->activation_min, p->activation_max));
                }
            }
        }
    }
#else
    tg_add_s8(ctx, p, input1, input2, output);
#endif
}
