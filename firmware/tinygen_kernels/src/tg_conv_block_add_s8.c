/* tg_conv_block_add_s8: the output stage of the fused DSP convolution variants (tg_conv_1x1_add_s8,
 * tg_conv_im2col_add_s8): a block's outputs into `temp` -- all of them at once when temp_bytes holds them
 * (the "rows" variants, tg_conv_add_temp_bytes) or, up to TG_CONV_ADD_LOCAL_BYTES, into a buffer on the
 * stack, else temp_bytes / 8 (or / 4) channels at a time (tg_conv_block_range_s8) -- then through the
 * residual Add into out: all the block's rows of the chunk in one call of tg_add_rows_s8 (the exact-shift
 * loop, what TFLite derives for inputs of different scales; a whole block is one row of valid * C_out
 * elements), else tg_add_dsp.h's short form when the Add's shifts allow it, else tg_add_element. Reading
 * the residual values of a chunk right before writing its outputs lets the output take the residual's
 * place. */
#include "tg_conv.h"
#include "internal/tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_add_dsp.h"
#include "internal/tg_add_rows.h"
#include "internal/tg_conv_dsp.h"

/* dst[c] = Add(a[c], b[c]) for c < n (short form). */
static void tg_add_short_run(const tg_add_short *add, const tg_add_params *p, const int8_t *a, const int8_t *b,
                             int8_t *dst, int32_t n)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        dst[c] = tg_add_short_element(add, p, a[c], b[c]);
    }
}

/* The same when the Add's range is all of int8 (the usual case): no clamp, the constants in locals
 * (registers) instead of re-read from the struct per element. */
static void tg_add_full_run(const tg_add_short *add, const int8_t *a, const int8_t *b, int8_t *dst, int32_t n)
{
    const tg_dsp_short_t q1 = add->q1, q2 = add->q2, qo = add->qo;
    const int32_t offset1 = add->offset1, offset2 = add->offset2, sign = add->sign;
    const int32_t mask1 = add->mask1, mask2 = add->mask2, mask_out = add->mask_out;
    int32_t c;
    for (c = 0; c < n; ++c) {
        const int32_t scaled1 = tg_dsp_short_any(offset1 + (int32_t)((uint32_t)a[c] << 21), &q1, mask1);
        const int32_t scaled2 = tg_dsp_short_any(offset2 + (int32_t)((uint32_t)b[c] << 21), &q2, mask2);
        dst[c] = (int8_t)tg_ssat8(tg_dsp_short_any(2 * (scaled1 + sign * scaled2), &qo, mask_out));
    }
}

/* The same for any Add parameters (tg_add_element). */
TG_COLD static void tg_add_general_run(const tg_add_params *p, const int8_t *a, const int8_t *b, int8_t *dst,
                                       int32_t n)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        dst[c] = tg_add_element(p, a[c], b[c]);
    }
}

/* The stage when the exact-shift loop applies (tg_add_rows_applies). A block's outputs of up to
 * TG_CONV_ADD_LOCAL_BYTES (IC's 16-channel layers in 4-pixel blocks) go into `local` on the stack when the
 * scratch's temp holds only a few channels of them: one pass of the convolution and one call of the Add
 * instead of a pass and a call per chunk. Its own stage (tg_conv_add_stage_of), so that the other paths'
 * constants (tg_add_short) and these bytes are never on the stack together: IC's worst-case stack does not
 * grow (bench/stack.py). */
void tg_conv_block_add_exact_s8(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block, int32_t taps,
                                const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp, int32_t temp_bytes)
{
    const tg_conv_params *p = &f->conv;
    const int32_t out_c = p->output.c;
    int8_t local[TG_CONV_ADD_LOCAL_BYTES] __attribute__((aligned(4)));
    tg_add_rows_t rows;
    int32_t c0, chunk = temp_bytes / (valid > 4 ? 8 : 4);
    tg_add_rows_prepare(&rows, &f->add);
    if (chunk < out_c && valid * out_c <= TG_CONV_ADD_LOCAL_BYTES) {
        temp = local;
        chunk = out_c;
    }
    for (c0 = 0; c0 < out_c; c0 += chunk) {
        const int32_t n = TG_MIN(chunk, out_c - c0);
        tg_conv_block_range_s8(p, kinds, block, taps, temp, n, c0, c0 + n, valid);
        if (n == out_c) { /* the whole block: temp is laid out as out, one row */
            tg_add_rows_s8(&rows, f->conv_first ? temp : residual, valid * out_c, f->conv_first ? residual : temp,
                           valid * out_c, out, valid * out_c, 1, valid * out_c);
        } else if (f->conv_first) {
            tg_add_rows_s8(&rows, temp, n, residual + c0, out_c, out + c0, out_c, valid, n);
        } else {
            tg_add_rows_s8(&rows, residual + c0, out_c, temp, n, out + c0, out_c, valid, n);
        }
    }
}

/* The other Add parameters: chunks of temp_bytes / 8 (or / 4) channels through tg_add_dsp.h's short form or
 * tg_add_element. */
void tg_conv_block_add_s8(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block, int32_t taps,
                          const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp, int32_t temp_bytes)
{
    const tg_conv_params *p = &f->conv;
    const int32_t out_c = p->output.c, chunk = temp_bytes / (valid > 4 ? 8 : 4);
    const int32_t fast = tg_add_short_applies(&f->add);
    tg_add_short add;
    int32_t c0, j;
    int32_t full = 0;
    if (fast) {
        tg_add_short_prepare(&add, &f->add);
        full = add.full;
    }
    for (c0 = 0; c0 < out_c; c0 += chunk) {
        const int32_t n = TG_MIN(chunk, out_c - c0);
        tg_conv_block_range_s8(p, kinds, block, taps, temp, n, c0, c0 + n, valid);
        for (j = 0; j < valid; ++j) {
            const int8_t *y = temp + j * n, *x = residual + j * out_c + c0;
            const int8_t *first = f->conv_first ? y : x, *second = f->conv_first ? x : y;
            if (full) {
                tg_add_full_run(&add, first, second, out + j * out_c + c0, n);
            } else if (fast) {
                tg_add_short_run(&add, &f->add, first, second, out + j * out_c + c0, n);
            } else {
                tg_add_general_run(&f->add, first, second, out + j * out_c + c0, n);
            }
        }
    }
}

tg_conv_add_stage tg_conv_add_stage_of(const tg_conv_add_params *f)
{
    return tg_add_rows_applies(&f->add) ? tg_conv_block_add_exact_s8 : tg_conv_block_add_s8;
}

#else
typedef int tg_conv_block_add_s8_needs_dsp; /* (ISO C forbids an empty file) */
#endif
