/* tinygen kernel library: data movement (slice, split, transpose, gather, expand, tile).
 *
 * Both kernels write their output contiguously, in order, from elements of the input chosen by an
 * index map the compiler derived from the model (tinygen/ops/copy.py). Values are moved, never
 * changed: the output shares the input's quantization.
 * In-place contract (tg_copy_s8): rows of the innermost axis are written in output order, each element after
 * it is read (rows of 16 bytes or more by memmove), so when every output element's input index exceeds the
 * previous one's, the output may start at the input or anywhere lower; rows shorter than 4 along a longer
 * second-innermost axis are walked column by column, which is not in order. tg_gather_s8: none.
 */
#ifndef TG_COPY_H
#define TG_COPY_H

#include "tg_types.h"

#define TG_COPY_MAX_RANK 6

/* A strided copy over up to 6 nested axes:
 *   output[i0, ..., i5] = input[offset + i0 * strides[0] + ... + i5 * strides[5]]. */
typedef struct {
    int32_t dims[TG_COPY_MAX_RANK];    /* output axes, outermost first, each >= 1 (leading ones 1); product < 2^31 */
    int32_t strides[TG_COPY_MAX_RANK]; /* input elements between neighbours along each output axis: any sign, 0
                                          repeats an element (expand); every address the map forms lies in the input */
    int32_t offset;                    /* input element of output element 0, >= 0 */
} tg_copy_params;

void tg_copy_s8(const tg_context *ctx, const tg_copy_params *params, const int8_t *input, int8_t *output);

/* A table copy: for o in [0, outer), for j in [0, count), the `inner` contiguous input elements from
 *   o * outer_stride + table[j]
 * are appended to the output (outer * count * inner elements in all). */
typedef struct {
    int32_t outer;        /* >= 1 */
    int32_t outer_stride; /* input elements between repetitions of the table (any sign; 0 when outer is 1) */
    int32_t count;        /* entries of the table, >= 1 */
    int32_t inner;        /* elements per run, >= 1 */
    const int32_t *table; /* [count] first input element of each run within repetition 0; every run lies in
                             the input */
} tg_gather_params;

void tg_gather_s8(const tg_context *ctx, const tg_gather_params *params, const int8_t *input, int8_t *output);

#endif /* TG_COPY_H */
