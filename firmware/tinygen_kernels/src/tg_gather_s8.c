/* tg_gather_s8: table copy of contiguous runs, plain C99. */
#include <string.h>

#include "tg_copy.h"

void tg_gather_s8(const tg_context *ctx, const tg_gather_params *p, const int8_t *input, int8_t *output)
{
    int32_t o, j;
    (void)ctx;
    for (o = 0; o < p->outer; ++o) {
        const int32_t base = o * p->outer_stride;
        if (p->inner == 1) {
            for (j = 0; j < p->count; ++j) {
                *output++ = input[base + p->table[j]];
            }
            continue;
        }
        for (j = 0; j < p->count; ++j) {
            memcpy(output, input + (base + p->table[j]), (size_t)p->inner);
            output += p->inner;
        }
    }
}
