/* tg_minmax_s8: elementwise maximum or minimum with broadcasting, plain C99 (TFLite int8 MAXIMUM /
 * MINIMUM). An input whose quantization differs from the output's is first rescaled to it:
 * zp_out + requantize(x - zp_in); |x - zp_in| <= 255, so the requantization's input fits easily. */
#include "tg_elementwise.h"
#include "tg_requant.h"

static int32_t tg_minmax_rescaled(int32_t x, int32_t rescale, int32_t offset, int32_t multiplier, int32_t shift,
                                  int32_t output_offset)
{
    return rescale ? tg_requantize(x + offset, multiplier, shift) + output_offset : x;
}

void tg_minmax_s8(const tg_context *ctx, const tg_minmax_params *p, const int8_t *input1,
                  const int8_t *input2, int8_t *output)
{
    const tg_dims *d = &p->output, *s1 = &p->input1_strides, *s2 = &p->input2_strides;
    int32_t i0, i1, i2, i3;
    (void)ctx;
    for (i0 = 0; i0 < d->n; ++i0) {
        for (i1 = 0; i1 < d->h; ++i1) {
            for (i2 = 0; i2 < d->w; ++i2) {
                const int8_t *a = input1 + i0 * s1->n + i1 * s1->h + i2 * s1->w;
                const int8_t *b = input2 + i0 * s2->n + i1 * s2->h + i2 * s2->w;
                for (i3 = 0; i3 < d->c; ++i3) {
                    const int32_t x1 = tg_minmax_rescaled(a[i3 * s1->c], p->input1_rescale, p->input1_offset,
                                                          p->input1_multiplier, p->input1_shift, p->output_offset);
                    const int32_t x2 = tg_minmax_rescaled(b[i3 * s2->c], p->input2_rescale, p->input2_offset,
                                                          p->input2_multiplier, p->input2_shift, p->output_offset);
                    const int32_t out = p->maximum ? (x1 > x2 ? x1 : x2) : (x1 < x2 ? x1 : x2);
                    *output++ = (int8_t)TG_CLAMP(out, p->activation_min, p->activation_max);
                }
            }
        }
    }
}
