/* tg_mul_s16: elementwise product of int16 tensors with broadcasting, plain C99 (TFLite's int16 MUL:
 * x1 * x2 in int32, |.| <= 2^30, requantized by s1 s2 / s_out; zero points 0). */
#include "tg_s16.h"

void tg_mul_s16(const tg_context *ctx, const tg_mul_params *p, const int16_t *input1, const int16_t *input2,
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
                    const int32_t product = a[i3 * s1->c] * b[i3 * s2->c];
                    const int32_t out = tg_requantize(product, p->output_multiplier, p->output_shift) + p->output_offset;
                    *output++ = (int16_t)TG_CLAMP(out, p->activation_min, p->activation_max);
                }
            }
        }
    }
}
