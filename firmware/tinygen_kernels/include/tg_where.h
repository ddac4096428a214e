/* tinygen kernel library: selection by a constant condition (ONNX Where). */
#ifndef TG_WHERE_H
#define TG_WHERE_H

#include "tg_types.h"

/* output[i] = condition[i] ? a[i] : b[i], each operand requantized to the output's parameters where its own
 * differ. a, b, condition and the output hold `size` elements in the same order.
 * In-place contract: element i of a and b is read before output[i] is written, in order, so the output may
 * take exactly the place of a or b. */
typedef struct {
    int32_t size;            /* >= 1 */
    const int8_t *condition; /* [size] 0 or 1 */
    int32_t a_requant;       /* 1: a's quantization differs from the output's (0: copied) */
    int32_t a_offset;        /* -zero point of a, in [-127, 128] */
    int32_t a_multiplier;    /* s_a / s_out: 0 or in [2^30, 2^31) */
    int32_t a_shift;         /* in [-31, 30] */
    int32_t b_requant;       /* the same for b */
    int32_t b_offset;
    int32_t b_multiplier;
    int32_t b_shift;
    int32_t output_offset; /* output zero point, in [-128, 127] */
} tg_where_params;

void tg_where_s8(const tg_context *ctx, const tg_where_params *params, const int8_t *a, const int8_t *b,
                 int8_t *output);

#endif /* TG_WHERE_H */
