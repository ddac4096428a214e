/* tg_reduce_s8: mean, max, min or sum over the flagged axes of a 4-D storage view (tg_reduce.h).
 * For each output element (the kept axes), the reduced axes are walked in storage order. */
#include "tg_reduce.h"
#include "tg_requant.h"

void tg_reduce_s8(const tg_context *ctx, const tg_reduce_params *p, const int8_t *input, int8_t *output)
{
    const int32_t d[4] = {p->input.n, p->input.h, p->input.w, p->input.c};
    int32_t out[4], extent[4], stride[4], i[4], r[4];
    const int32_t compare = p->kind == TG_REDUCE_MAX || p->kind == TG_REDUCE_MIN;
    int32_t k;
    (void)ctx;
    stride[3] = 1;
    for (k = 2; k >= 0; --k) {
        stride[k] = stride[k + 1] * d[k + 1];
    }
    for (k = 0; k < 4; ++k) {
        out[k] = p->reduce[k] ? 1 : d[k];    /* output extent */
        extent[k] = p->reduce[k] ? d[k] : 1; /* reduced extent */
    }
    for (i[0] = 0; i[0] < out[0]; ++i[0]) {
        for (i[1] = 0; i[1] < out[1]; ++i[1]) {
            for (i[2] = 0; i[2] < out[2]; ++i[2]) {
                for (i[3] = 0; i[3] < out[3]; ++i[3]) {
                    const int8_t *base = input + i[0] * stride[0] + i[1] * stride[1] + i[2] * stride[2] + i[3];
                    int32_t acc = compare ? base[0] : 0, value;
                    for (r[0] = 0; r[0] < extent[0]; ++r[0]) {
                        for (r[1] = 0; r[1] < extent[1]; ++r[1]) {
                            for (r[2] = 0; r[2] < extent[2]; ++r[2]) {
                                const int8_t *row = base + r[0] * stride[0] + r[1] * stride[1] + r[2] * stride[2];
                                for (r[3] = 0; r[3] < extent[3]; ++r[3]) {
                                    if (p->kind == TG_REDUCE_MAX) {
                                        acc = row[r[3]] > acc ? row[r[3]] : acc;
                                    } else if (p->kind == TG_REDUCE_MIN) {
                                        acc = row[r[3]] < acc ? row[r[3]] : acc;
                                    } else {
                                        acc += row[r[3]] + p->input_offset;
                                    }
                                }
                            }
                        }
                    }
                    value = acc;
                    if (p->rescale) {
                        value = tg_requantize(compare ? acc + p->input_offset : acc, p->multiplier, p->shift) +
                                p->output_offset;
                    }
                    *output++ = (int8_t)TG_CLAMP(value, -128, 127);
                }
            }
        }
    }
}
