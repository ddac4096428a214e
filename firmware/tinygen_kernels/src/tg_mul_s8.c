/* tg_mul_s8: elementwise multiply with broadcasting, plain C99 (TFLite int8 MUL).
 * |(x1 + offset1) (x2 + offset2)| <= 256 * 256, far inside int32. */
#include "tg_elementwise.h"
#include "tg_requant.h"

void tg_mul_s8(const tg_context *ctx, const tg_mul_params *p, const int8_t *input1,
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
                    const int32_t product = (a[i3 * s1->c] + p->input1_offset) * (b[i3 * s2->c] + p->input2_offset);
                    const int32_t out = tg_requantize(product, p->output_multiplier, p->output_shift) +
                                        p->output_offset;
                    *output++ = (int8_t)TG_CLAMP(out, p->activation_min, p->activation_max);
                }
            }
        }
    }
}
