/* tinygen kernel library: the short-form Add of the DSP variants (internal; see src/tg_add_fast_s8.c,
 * which explains the arithmetic, and src/tg_conv_block_add_s8.c). Only for cores with the DSP extension. */
#ifndef TG_ADD_DSP_H
#define TG_ADD_DSP_H

#include "tg_dsp.h"
#include "tg_elementwise.h"

#if defined(__ARM_FEATURE_DSP)
/* tg_add_params prepared for tg_add_short_element. */
typedef struct {
    tg_dsp_short_t q1, q2, qo;
    int32_t mask1, mask2, mask_out;
    int32_t offset1, offset2; /* (x + offset) << 21, the doubled shifted value the short form takes */
    int32_t sign;             /* -1: subtract */
    int32_t full;             /* the activation range is all of int8 */
} tg_add_short;

/* Does the short form apply (else tg_add_element)? |(x + offset) << 20| < 2^28, each rescaled input below
 * 2^28, their sum inside the form's 2^29. */
TG_INLINE int32_t tg_add_short_applies(const tg_add_params *p)
{
    return p->left_shift == 20 && tg_dsp_short_any_applies(28, p->input1_shift) &&
           tg_dsp_short_any_applies(28, p->input2_shift) && tg_dsp_short_any_applies(29, p->output_shift);
}

TG_INLINE void tg_add_short_prepare(tg_add_short *a, const tg_add_params *p)
{
    a->offset1 = (int32_t)((uint32_t)p->input1_offset << 21);
    a->offset2 = (int32_t)((uint32_t)p->input2_offset << 21);
    a->full = p->activation_min <= -128 && p->activation_max >= 127;
    a->sign = p->subtract ? -1 : 1;
    tg_dsp_short_any_prepare(&a->q1, &a->mask1, p->input1_multiplier, p->input1_shift, 0);
    tg_dsp_short_any_prepare(&a->q2, &a->mask2, p->input2_multiplier, p->input2_shift, 0);
    tg_dsp_short_any_prepare(&a->qo, &a->mask_out, p->output_multiplier, p->output_shift, p->output_offset);
}

/* tg_add_element(p, x1, x2) when tg_add_short_applies(p). */
TG_INLINE int8_t tg_add_short_element(const tg_add_short *a, const tg_add_params *p, int32_t x1, int32_t x2)
{
    const int32_t scaled1 = tg_dsp_short_any(a->offset1 + (int32_t)((uint32_t)x1 << 21), &a->q1, a->mask1);
    const int32_t scaled2 = tg_dsp_short_any(a->offset2 + (int32_t)((uint32_t)x2 << 21), &a->q2, a->mask2);
    const int32_t out = tg_dsp_short_any(2 * (scaled1 + a->sign * scaled2), &a->qo, a->mask_out);
    return (int8_t)(a->full ? tg_ssat8(out) : TG_CLAMP(out, p->activation_min, p->activation_max));
}
#endif

#endif /* TG_ADD_DSP_H */
