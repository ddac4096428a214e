/* tinygen kernel library: constant padding. */
#ifndef TG_PAD_H
#define TG_PAD_H

#include "tg_types.h"

typedef struct {
    tg_dims input;     /* as 4-D storage [d0, d1, d2, d3] */
    tg_dims output;    /* the same, each axis input + before + after (>= input) */
    tg_dims before;    /* padding before each axis, >= 0; the rest of the output (after) is padding too */
    int32_t pad_value; /* the quantized pad constant, in [-128, 127] */
} tg_pad_params;

void tg_pad_s8(const tg_context *ctx, const tg_pad_params *params, const int8_t *input, int8_t *output);

#endif /* TG_PAD_H */
