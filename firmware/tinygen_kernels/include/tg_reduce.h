/* tinygen kernel library: reductions over any set of axes (ONNX ReduceMean / ReduceMax / ReduceMin /
 * ReduceSum; TFLite MEAN, REDUCE_MAX, REDUCE_MIN, SUM). */
#ifndef TG_REDUCE_H
#define TG_REDUCE_H

#include "tg_types.h"

#define TG_REDUCE_MEAN 0
#define TG_REDUCE_MAX 1
#define TG_REDUCE_MIN 2
#define TG_REDUCE_SUM 3

typedef struct {
    tg_dims input;         /* the input as 4-D storage [d0, d1, d2, d3] (fields n, h, w, c), each >= 1 */
    int32_t reduce[4];     /* 1: axis k is reduced (the output has size 1 there); 0: kept. The output is
                              the input's 4-D storage with the reduced axes of size 1, row-major */
    int32_t kind;          /* TG_REDUCE_*: mean and sum sum (q + input_offset) in int32 (at most 2^23
                              values: |q + input_offset| <= 255); max and min compare raw values */
    int32_t input_offset;  /* -input zero point, in [-127, 128] */
    int32_t output_offset; /* output zero point, in [-128, 127] */
    int32_t rescale;       /* mean, sum: 1 (the sum requantized once: s_in / s_out, divided by the count for
                              the mean, TFLite's MEAN); max, min: 1 when the output has other parameters
                              (max + input_offset requantized by s_in / s_out), else 0 (copied) */
    int32_t multiplier;    /* in [0, 2^31) (TFLite's MEAN: QuantizeMultiplier(s_in / s_out) << k / count) */
    int32_t shift;         /* in [-31, 30] */
} tg_reduce_params;

void tg_reduce_s8(const tg_context *ctx, const tg_reduce_params *params, const int8_t *input, int8_t *output);

#endif /* TG_REDUCE_H */
