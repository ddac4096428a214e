/* tg_add_s8: elementwise add / subtract with broadcasting, plain C99 (TFLite int8 ADD). */
#include "tg_elementwise.h"
#include "tg_requant.h"

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
                    *output++ = tg_add_element(p, a[i3 * s1->c], b[i3 * s2->c]);
                }
            }
        }
    }
}
