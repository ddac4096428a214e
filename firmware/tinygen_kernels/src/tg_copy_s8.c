/* tg_copy_s8: strided copy over up to 6 nested axes, plain C99.
 *
 * Addresses are summed as int32 element indices and only the row start becomes a pointer: with
 * negative strides a partial sum may lie before the input, which a pointer may not. The axes are read
 * into locals once (the int8 stores may alias the parameters as far as the compiler knows). */
#include <string.h>

#include "tg_copy.h"

void tg_copy_s8(const tg_context *ctx, const tg_copy_params *p, const int8_t *input, int8_t *output)
{
    const int32_t d0 = p->dims[0], d1 = p->dims[1], d2 = p->dims[2], d3 = p->dims[3], d4 = p->dims[4];
    const int32_t s0 = p->strides[0], s1 = p->strides[1], s2 = p->strides[2], s3 = p->strides[3];
    const int32_t s4 = p->strides[4], step = p->strides[5], run = p->dims[5], offset = p->offset;
    int32_t i0, i1, i2, i3, i4, i5;
    (void)ctx;
    for (i0 = 0; i0 < d0; ++i0) {
        const int32_t a0 = offset + i0 * s0;
        for (i1 = 0; i1 < d1; ++i1) {
            const int32_t a1 = a0 + i1 * s1;
            for (i2 = 0; i2 < d2; ++i2) {
                const int32_t a2 = a1 + i2 * s2;
                for (i3 = 0; i3 < d3; ++i3) {
                    const int32_t a3 = a2 + i3 * s3;
                    if (run < 4 && d4 > run) {
                        /* Short rows (a channel half read from interleaved channels): the longer axis
                         * innermost, writing the output `run` apart. */
                        for (i5 = 0; i5 < run; ++i5) {
                            const int8_t *column = input + (a3 + i5 * step);
                            for (i4 = 0; i4 < d4; ++i4) {
                                output[i4 * run + i5] = column[i4 * s4];
                            }
                        }
                        output += d4 * run;
                        continue;
                    }
                    for (i4 = 0; i4 < d4; ++i4) {
                        const int8_t *row = input + (a3 + i4 * s4);
                        if (step == 1 && run >= 16) {
                            memmove(output, row, (size_t)run); /* in place, the row may overlap its input */
                        } else {
                            for (i5 = 0; i5 < run; ++i5) {
                                output[i5] = row[i5 * step];
                            }
                        }
                        output += run;
                    }
                }
            }
        }
    }
}
