/* tg_add_fast_s8: elementwise add / subtract with broadcasting (TFLite int8 ADD). Must equal tg_add_s8
 * (the plain C reference), and falls back to it on cores without the DSP extension.
 *
 * DSP: the three requantizations of every element (each input to the common scale, the sum to the
 * output's) take the short form of tg_dsp.h (tg_dsp_short_any: shifts 0 .. -23) when the shifts allow
 * it: |(x + offset) << 20| < 2^28 and each rescaled input is below 2^28 in magnitude, so their sum is
 * inside the form's 2^29. (x + offset) << 21, the
 * doubled value the form takes, is one ADD with a shifted operand. About 20 instructions per element
 * against about 95 for the plain kernel's three general requantizations. Two dense inputs of the output's
 * shape with TFLite's parameters for different scales (one input (2^30, 0)) take tg_add_rows_s8's exact-shift
 * loop instead (src/tg_add_rows_s8.c: about 14 instructions per element), as one row. */
#include "internal/tg_add_dsp.h"
#include "internal/tg_add_rows.h"
#include "tg_elementwise.h"

#if defined(__ARM_FEATURE_DSP)
/* Are the strides those of a dense tensor of the output's shape (no broadcast)? An axis of size 1 may have any
 * stride (the compiler gives such axes 0). */
static int32_t tg_add_dense(const tg_dims *d, const tg_dims *s)
{
    return (d->c == 1 || s->c == 1) && (d->w == 1 || s->w == d->c) && (d->h == 1 || s->h == d->w * d->c) &&
           (d->n == 1 || s->n == d->h * d->w * d->c);
}
#endif

void tg_add_fast_s8(const tg_context *ctx, const tg_add_params *p, const int8_t *input1, const int8_t *input2,
                    int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const tg_dims *d = &p->output, *s1 = &p->input1_strides, *s2 = &p->input2_strides;
    const int32_t step1 = s1->c, step2 = s2->c, channels = d->c;
    tg_add_short a;
    int32_t i0, i1, i2, i3;
    if (tg_add_dense(d, s1) && tg_add_dense(d, s2)) {
        tg_add_rows_t rows;
        tg_add_rows_prepare(&rows, p);
        if (rows.exact) {
            const int32_t count = d->n * d->h * d->w * d->c;
            tg_add_rows_s8(&rows, input1, count, input2, count, output, count, 1, count);
            return;
        }
    }
    if (!tg_add_short_applies(p)) {
        tg_add_s8(ctx, p, input1, input2, output);
        return;
    }
    tg_add_short_prepare(&a, p);
    for (i0 = 0; i0 < d->n; ++i0) {
        for (i1 = 0; i1 < d->h; ++i1) {
            for (i2 = 0; i2 < d->w; ++i2) {
                const int8_t *x1 = input1 + i0 * s1->n + i1 * s1->h + i2 * s1->w;
                const int8_t *x2 = input2 + i0 * s2->n + i1 * s2->h + i2 * s2->w;
                for (i3 = 0; i3 < channels; ++i3, x1 += step1, x2 += step2) {
                    *output++ = tg_add_short_element(&a, p, *x1, *x2);
                }
            }
        }
    }
#else
    tg_add_s8(ctx, p, input1, input2, output);
#endif
}
