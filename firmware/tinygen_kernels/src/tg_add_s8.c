/* tg_add_s8: elementwise add / subtract with broadcasting, plain C99 (TFLite int8 ADD). */
#include "tg_elementwise.h"
#include "tg_requant.h"

static int8_t add_one(const tg_add_params *p, int32_t x1, int32_t x2)
{
    const int32_t shifted1 = (x1 + p->input1_offset) * (1 << p->left_shift);
    const int32_t shifted2 = (x2 + p->input2_offset) * (1 << p->left_shift);
    const int32_t scaled1 = tg_requantize(shifted1, p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 = tg_requantize(shifted2, p->input2_multiplier, p->input2_shift);
    const int32_t sum = p->subtract ? scaled1 - scaled2 : scaled1 + scaled2;
    const int32_t out = tg_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)TG_CLAMP(out, p->activation_min, p->activation_max);
}

void tg_add_s8(const tg_context *ctx, const tg_add_params *p, const int8_t *input1,
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
                    *output++ = add_one(p, a[i3 * s1->c], b[i3 * s2->c]);
                }
            }
        }
    }
}
