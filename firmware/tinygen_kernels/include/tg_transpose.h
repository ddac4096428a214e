/* tinygen kernel library: axis permutation (layout changes the model asks for). */
#ifndef TG_TRANSPOSE_H
#define TG_TRANSPOSE_H

#include "tg_types.h"

typedef struct {
    tg_dims input;   /* the input as 4-D storage [d0, d1, d2, d3] (fields n, h, w, c) */
    int32_t perm[4]; /* a permutation of 0..3: output axis k is input axis perm[k] */
} tg_transpose_params;

void tg_transpose_s8(const tg_context *ctx, const tg_transpose_params *params, const int8_t *input,
                     int8_t *output);

#endif /* TG_TRANSPOSE_H */
