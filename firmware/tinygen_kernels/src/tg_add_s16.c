/* tg_add_s16: elementwise add / subtract of int16 tensors with broadcasting, plain C99 (TFLite's int16
 * ADD / SUB, general path: the int8 arithmetic of tg_add_element with left_shift 15 and zero points 0). */
#include "tg_s16.h"

static int16_t add_element(const tg_add_params *p, int32_t x1, int32_t x2)
{
    const int32_t scaled1 = tg_requantize(x1 * (1 << p->left_shift), p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 = tg_requantize(x2 * (1 << p->left_shift), p->input2_multiplier, p->input2_shift);
    const int32_t sum = p->subtract ? scaled1 - scaled2 : scaled1 + scaled2;
    const int32_t out = tg_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int16_t)TG_CLAMP(out, p->activation_min, p->activation_max);
}

void tg_add_s16(const tg_context *ctx, const tg_add_params *p, const int16_t *input1, const int16_t *input2,
                int16_t *output)
{
    const tg_dims *d = &p->output, *s1 = &p->input1_strides, *s2 = &p->input2_strides;
    int32_t i0, i1, i2, i3;
    (void)ctx;
    for (i0 = 0; i0 < d->n; ++i0) {
        for (i1 = 0; i1 < d->h; ++i1) {
            for (i2 = 0; i2 < d->w; ++i2) {
                const int16_t *a = input1 + i0 * s1->n + i1 * s1->h + i2 * s1->w;
                const int16_t *b = input2 + i0 * s2->n + i1 * s2->h + i2 * s2->w;
                for (i3 = 0; i3 < d->c; ++i3) {
                    *output++ = add_element(p, a[i3 * s1->c], b[i3 * s2->c]);
                }
            }
        }
    }
}
