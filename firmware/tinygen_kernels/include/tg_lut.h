/* tinygen kernel library: elementwise functions of one int8 input as a 256-entry table. */
#ifndef TG_LUT_H
#define TG_LUT_H

#include "tg_types.h"

typedef struct {
    int32_t size;        /* elements, >= 0 (any layout: the table applies to each) */
    const int8_t *table; /* [256]: table[q + 128] is the output for input q */
} tg_lut_params;

/* out[i] = table[in[i] + 128]. In-place use (input == output) is allowed. */
void tg_lut_s8(const tg_context *ctx, const tg_lut_params *params, const int8_t *input, int8_t *output);

#endif /* TG_LUT_H */
