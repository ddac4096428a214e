/* tg_lut_s8: table lookup, plain C99. */
#include "tg_lut.h"

void tg_lut_s8(const tg_context *ctx, const tg_lut_params *params, const int8_t *input, int8_t *output)
{
    const int8_t *table = params->table + 128;
    int32_t i;
    (void)ctx;
    for (i = 0; i < params->size; ++i) {
        output[i] = table[input[i]];
    }
}
