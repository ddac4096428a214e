/* tinygen kernel library: elementwise binary ops with broadcasting (TFLite int8 ADD/SUB/MUL, MAXIMUM/MINIMUM). */
#ifndef TG_ELEMENTWISE_H
#define TG_ELEMENTWISE_H

#include "tg_requant.h"
#include "tg_types.h"

/* Requantization pairs (multiplier, shift) below are Q31 multipliers, 0 or in [2^30, 2^31), with shifts
 * in [-31, 30] (tg_requant.h), each named after the real factor it stands for (s: scales). */
typedef struct {
    tg_dims output;         /* output as 4-D storage [d0, d1, d2, d3] (the inputs broadcast to it) */
    tg_dims input1_strides; /* element stride of input 1 along each output axis, >= 0; 0 = broadcast */
    tg_dims input2_strides;
    int32_t input1_offset; /* -zero points of the inputs, in [-127, 128] */
    int32_t input2_offset;
    int32_t output_offset;     /* output zero point, in [-128, 127] */
    int32_t input1_multiplier; /* s1 / (2 max(s1, s2)) <= 1/2, so shift in [-31, 0] */
    int32_t input1_shift;
    int32_t input2_multiplier; /* s2 / (2 max(s1, s2)), the same */
    int32_t input2_shift;
    int32_t output_multiplier; /* 2 max(s1, s2) / (2^left_shift s_out) */
    int32_t output_shift;
    int32_t left_shift;     /* 20: headroom for the rescaled inputs (|x + offset| < 2^8); the DSP form needs 20 */
    int32_t activation_min; /* fused activation clamp, in [-128, 127] */
    int32_t activation_max; /* in [activation_min, 127] */
    int32_t subtract;       /* 1: input1 - input2 (SUB); 0: ADD */
    /* NULL, or where tg_add_rows_s8's exact-shift loop applies (src/tg_add_rows_s8.c) a table of 256 words,
     * indexed by the byte of the input rescaled by its multiplier read as unsigned: that rescale doubled,
     * plus the other input's offset << 20 (one load for a requantization per element; the compiler's
     * tinygen/ops/elementwise.py rescaled_table) */
    const int32_t *rescaled;
} tg_add_params;

typedef struct {
    tg_dims output;         /* as tg_add_params */
    tg_dims input1_strides; /* as tg_add_params; 0 = broadcast */
    tg_dims input2_strides;
    int32_t input1_offset; /* -zero points of the inputs, in [-127, 128] */
    int32_t input2_offset;
    int32_t output_offset;     /* output zero point, in [-128, 127] */
    int32_t output_multiplier; /* s1 s2 / s_out */
    int32_t output_shift;
    int32_t activation_min; /* fused activation clamp, in [-128, 127] */
    int32_t activation_max; /* in [activation_min, 127] */
} tg_mul_params;

typedef struct {
    tg_dims output;
    tg_dims input1_strides;
    tg_dims input2_strides;
    int32_t input1_offset;     /* -zero point of input 1, in [-127, 128] */
    int32_t input1_multiplier; /* s1 / s_out as Q31 (with input1_shift); unused unless input1_rescale */
    int32_t input1_shift;      /* in [-31, 30] */
    int32_t input1_rescale;    /* 0: input 1 has the output's parameters and is compared as it is */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t input2_rescale;
    int32_t output_offset; /* zero point of the output, in [-128, 127] */
    int32_t activation_min;
    int32_t activation_max;
    int32_t maximum; /* 1: MAXIMUM, 0: MINIMUM */
} tg_minmax_params;

/* One element of tg_add_s8: the sum (or difference) of x1 and x2, requantized and clamped. */
TG_INLINE int8_t tg_add_element(const tg_add_params *p, int32_t x1, int32_t x2)
{
    const int32_t shifted1 = (x1 + p->input1_offset) * (1 << p->left_shift);
    const int32_t shifted2 = (x2 + p->input2_offset) * (1 << p->left_shift);
    const int32_t scaled1 = tg_requantize(shifted1, p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 = tg_requantize(shifted2, p->input2_multiplier, p->input2_shift);
    const int32_t sum = p->subtract ? scaled1 - scaled2 : scaled1 + scaled2;
    const int32_t out = tg_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)TG_CLAMP(out, p->activation_min, p->activation_max);
}

/* Both allow in-place use (output == input1 or input2) when that input is not broadcast: elements in
 * order, each read before it is written. */
void tg_add_s8(const tg_context *ctx, const tg_add_params *params, const int8_t *input1,
               const int8_t *input2, int8_t *output);
/* Cortex-M DSP variant of tg_add_s8, bit-exact with it (its fallback without the DSP extension). */
void tg_add_fast_s8(const tg_context *ctx, const tg_add_params *params, const int8_t *input1,
                    const int8_t *input2, int8_t *output);
void tg_mul_s8(const tg_context *ctx, const tg_mul_params *params, const int8_t *input1,
               const int8_t *input2, int8_t *output);
void tg_minmax_s8(const tg_context *ctx, const tg_minmax_params *params, const int8_t *input1,
                  const int8_t *input2, int8_t *output);

#endif /* TG_ELEMENTWISE_H */
