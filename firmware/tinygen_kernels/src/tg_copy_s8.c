/* tg_copy_s8: strided copy over up to 6 nested axes, plain C99.
 *
 * Addresses are summed as int32 element indices and only the row start becomes a pointer: with
 * negative strides a partial sum may lie before the input, which a pointer may not. */
#include <string.h>

#include "tg_copy.h"

void tg_copy_s8(const tg_context *ctx, const tg_copy_params *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->dims;
    const int32_t *s = p->strides;
    const int32_t run = d[5];
    int32_t i0, i1, i2, i3, i4, i5;
    (void)ctx;
    for (i0 = 0; i0 < d[0]; ++i0) {
        const int32_t a0 = p->offset + i0 * s[0];
        for (i1 = 0; i1 < d[1]; ++i1) {
            const int32_t a1 = a0 + i1 * s[1];
            for (i2 = 0; i2 < d[2]; ++i2) {
                const int32_t a2 = a1 + i2 * s[2];
                for (i3 = 0; i3 < d[3]; ++i3) {
                    const int32_t a3 = a2 + i3 * s[3];
                    for (i4 = 0; i4 < d[4]; ++i4) {
                        const int8_t *row = input + (a3 + i4 * s[4]);
                        if (s[5] == 1) {
                            memcpy(output, row, (size_t)run);
                            output += run;
                            continue;
                        }
                        for (i5 = 0; i5 < run; ++i5) {
                            *output++ = row[i5 * s[5]];
                        }
                    }
                }
            }
        }
    }
}
