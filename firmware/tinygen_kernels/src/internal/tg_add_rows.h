/* tinygen kernel library: the row-wise residual Add of the fused DSP convolutions (internal; see
 * src/tg_add_rows_s8.c, which explains the arithmetic, and src/tg_conv_block_add_s8.c): portable C, called by
 * the DSP variants. */
#ifndef TG_ADD_ROWS_H
#define TG_ADD_ROWS_H

#include "tg_elementwise.h"

/* tg_add_params prepared for tg_add_rows_s8 (tg_add_rows_prepare). */
typedef struct {
    int32_t exact;             /* 1: the exact-shift loop applies (else tg_add_rows_s8 must not be called) */
    int32_t swap;              /* 1: input 2 is the one rescaled by the exact shift (input 1 by the multiplier) */
    int32_t full;              /* the activation range is all of int8 (SSAT alone) */
    int32_t offset_l;          /* (offset of the exactly shifted input) << 20 */
    int32_t offset_s;          /* (offset of the other) << 21: the doubled value the short form takes */
    int32_t m_s, round_s, e_s; /* the other input's short requantization (tg_dsp_short_t) */
    int32_t m_o, round_o, e_o; /* the output's, with the output offset in round_o */
    int32_t act_min, act_max;
    const int32_t *table; /* tg_add_params.rescaled where the loop applies, else NULL */
} tg_add_rows_t;

/* Does the exact-shift loop apply to p (what tg_add_rows_prepare puts in r->exact)? */
int32_t tg_add_rows_applies(const tg_add_params *p);

/* Fills r; r->exact says whether the exact-shift loop applies to p. */
void tg_add_rows_prepare(tg_add_rows_t *r, const tg_add_params *p);

/* out[i * out_stride + c] = Add(in1[i * stride1 + c], in2[i * stride2 + c]) for i < rows, c < n, when
 * r->exact. Each output is written after both its inputs were read, and row i's inputs are read before
 * row i's outputs are written: out may be in1 or in2 (same stride). */
void tg_add_rows_s8(const tg_add_rows_t *r, const int8_t *in1, int32_t stride1, const int8_t *in2, int32_t stride2,
                    int8_t *out, int32_t out_stride, int32_t rows, int32_t n);

#endif /* TG_ADD_ROWS_H */
