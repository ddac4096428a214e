/* tg_transpose_s8: 4-D axis permutation, plain C99. */
#include "tg_transpose.h"

void tg_transpose_s8(const tg_context *ctx, const tg_transpose_params *p, const int8_t *input,
                     int8_t *output)
{
    const int32_t in_dims[4] = {p->input.n, p->input.h, p->input.w, p->input.c};
    int32_t in_strides[4];
    int32_t out_dims[4];
    int32_t stride[4]; /* input stride of each output axis */
    int32_t i0, i1, i2, i3, k;
    (void)ctx;
    in_strides[3] = 1;
    for (k = 2; k >= 0; --k) {
        in_strides[k] = in_strides[k + 1] * in_dims[k + 1];
    }
    for (k = 0; k < 4; ++k) {
        out_dims[k] = in_dims[p->perm[k]];
        stride[k] = in_strides[p->perm[k]];
    }
    for (i0 = 0; i0 < out_dims[0]; ++i0) {
        for (i1 = 0; i1 < out_dims[1]; ++i1) {
            for (i2 = 0; i2 < out_dims[2]; ++i2) {
                const int8_t *row = input + i0 * stride[0] + i1 * stride[1] + i2 * stride[2];
                for (i3 = 0; i3 < out_dims[3]; ++i3) {
                    *output++ = row[i3 * stride[3]];
                }
            }
        }
    }
}
