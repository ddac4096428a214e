/* tinygen kernel library: the 16x8 kernels (TFLite's scheme of int16 activations with int8 weights).
 *
 * Activations are int16, symmetric (zero point 0), per tensor; weights int8 symmetric per output channel;
 * conv / depthwise / fully connected accumulate in int64 with an int64 bias (scale s_in * s_w[c]) and
 * requantize the int64 accumulator with tg_requantize_s64 (TFLite's 64-bit MultiplyByQuantizedMultiplier).
 * Add, mul, pooling and concatenation reuse the int8 kernels' parameter structs (tg_elementwise.h,
 * tg_pool.h, tg_concat.h) with the int16 ranges given below. Each kernel is plain C99; the golden
 * reference is tinygen/ops (the *_s16 paths), bit for bit.
 */
#ifndef TG_S16_H
#define TG_S16_H

#include "tg_concat.h"
#include "tg_elementwise.h"
#include "tg_pool.h"
#include "tg_requant.h"
#include "tg_types.h"

/* TFLite's MultiplyByQuantizedMultiplier(int64 x, ...): the Q31 multiplier rounded to Q15, the product
 * shifted right by 15 - shift rounding half up. |x| < 2^47 and shift in [-31, 7] (the compiler checks
 * both: quantize_s16 in tinygen/ops), so |x * m15| < 2^62. The result is returned in int64: the
 * callers clamp it to the output's range before narrowing it. */
TG_INLINE int64_t tg_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (int64_t)((multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    return (x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift;
}

/* The taps k in [*first, *last) of a window starting at `base` (stride applied, padding subtracted) with
 * `kernel` taps `dilation` apart that fall inside [0, size): the 16x8 convolutions skip padded taps by range
 * instead of testing each one. */
TG_INLINE void tg_s16_valid_taps(int32_t base, int32_t kernel, int32_t dilation, int32_t size, int32_t *first,
                                 int32_t *last)
{
    int32_t k0 = base < 0 ? (-base + dilation - 1) / dilation : 0;
    int32_t k1 = size - base > 0 ? (size - base + dilation - 1) / dilation : 0;
    *first = TG_MIN(k0, kernel);
    *last = TG_MAX(*first, TG_MIN(k1, kernel));
}

/* Conv and depthwise conv, 16x8. Shapes and layouts as tg_conv_params (tg_conv.h). */
typedef struct {
    tg_dims input;             /* [1, H, W, C_in] int16 */
    tg_dims filter;            /* standard/grouped: [C_out, KH, KW, C_in / groups]; depthwise: [1, KH, KW, C_out] */
    tg_dims output;            /* [1, OH, OW, C_out] int16 */
    tg_hw stride;              /* >= 1 */
    tg_hw dilation;            /* >= 1 */
    tg_padding padding;        /* >= 0; top/left place the windows */
    int32_t groups;            /* standard: 1; grouped: number of groups; depthwise: unused */
    int32_t depth_multiplier;  /* depthwise only, >= 1 */
    int32_t activation_min;    /* fused activation clamp, in [-32768, 32767] */
    int32_t activation_max;    /* in [activation_min, 32767] */
    const int8_t *weights;     /* symmetric int8, layout as `filter` */
    const int64_t *bias;       /* [C_out], scale s_in * s_w[c], or NULL */
    const int32_t *multiplier; /* [C_out] if per_channel else [1]; each 0 or in [2^30, 2^31) */
    const int8_t *shift;       /* as multiplier, each in [-31, 7] */
    int32_t per_channel;       /* 1: one (multiplier, shift) per output channel; 0: one for all */
} tg_conv_s16_params;

/* out[c] = clamp(requant_s64(bias[c] + sum w * x)): |w x| <= 127 * 2^15 < 2^22, so the int64 sum of any
 * window (below 2^25 taps) stays under TFLite's 2^47 bound together with the bias (the compiler checks it). */
void tg_conv_s16(const tg_context *ctx, const tg_conv_s16_params *params, const int16_t *input,
                 int16_t *output);
void tg_depthwise_conv_s16(const tg_context *ctx, const tg_conv_s16_params *params, const int16_t *input,
                           int16_t *output);

typedef struct {
    int32_t rows;              /* >= 1: independent input rows */
    int32_t input_depth;       /* K >= 1 */
    int32_t output_depth;      /* N >= 1 */
    int32_t activation_min;    /* in [-32768, 32767] */
    int32_t activation_max;    /* in [activation_min, 32767] */
    const int8_t *weights;     /* [N, K] row-major, symmetric int8 */
    const int64_t *bias;       /* [N], scale s_in * s_w[n], or NULL */
    const int32_t *multiplier; /* [N] if per_channel else [1] */
    const int8_t *shift;       /* as multiplier, each in [-31, 7] */
    int32_t per_channel;
} tg_fully_connected_s16_params;

/* out[r, n] = clamp(requant_s64(bias[n] + sum_k w[n, k] * in[r, k])) */
void tg_fully_connected_s16(const tg_context *ctx, const tg_fully_connected_s16_params *params,
                            const int16_t *input, int16_t *output);

/* TFLite's int16 ADD / SUB (the general path, zero points 0): tg_add_params with offsets 0, left_shift 15
 * (|x| <= 2^15, so x << 15 <= 2^30 and each rescaled input, multiplied by at most 1/2, below 2^29: their sum
 * fits in int32), activation range in [-32768, 32767]. Broadcasting and in-place use as tg_add_s8. */
void tg_add_s16(const tg_context *ctx, const tg_add_params *params, const int16_t *input1,
                const int16_t *input2, int16_t *output);

/* TFLite's int16 MUL: x1 * x2 (|.| <= 2^30) requantized by s1 s2 / s_out; tg_mul_params with offsets 0. */
void tg_mul_s16(const tg_context *ctx, const tg_mul_params *params, const int16_t *input1,
                const int16_t *input2, int16_t *output);

/* Pooling with int16 values, output parameters = input's: max over the taps inside the input; average
 * round_half_away(sum / count) (TFLite's AveragePool16; the sum of up to 2^16 taps fits in int32).
 * tg_pool_params with rescale 0 and mean 0 (input_zero_point 0). */
void tg_max_pool_s16(const tg_context *ctx, const tg_pool_params *params, const int16_t *input,
                     int16_t *output);
void tg_avg_pool_s16(const tg_context *ctx, const tg_pool_params *params, const int16_t *input,
                     int16_t *output);

/* Concatenation of int16 tensors: tg_concat_params, offsets 0, requantization as tg_concat_s8 into
 * [-32768, 32767]. */
void tg_concat_s16(const tg_context *ctx, const tg_concat_params *params, const int16_t *const *inputs,
                   int16_t *output);

/* TFLite's int16 SOFTMAX: exp and 1 / (1 + x) from 513-entry int16 tables with linear interpolation
 * (tinygen/ops/softmax.py builds them as TFLite's gen_lut does). Output scale 1/32768, zero point 0. */
typedef struct {
    int32_t rows;                             /* >= 1 */
    int32_t depth;                            /* values per row, in [1, 65535]: the sum of exponentials (each <= 2^15) fits */
    int32_t inner;                            /* >= 1, as tg_softmax_params */
    int32_t input_multiplier;                 /* beta s_in / (10 / 65535): [-65535, 0] steps to [-10, 0] */
    int32_t input_shift;                      /* in [-31, 30] */
    const int16_t *exp_table;                 /* [513]: exp on [-10, 0] in Q0.15 */
    const int16_t *one_over_one_plus_x_table; /* [513]: 1 / (1 + x) on [0, 1] in Q0.15 */
} tg_softmax_s16_params;

/* Reads each row fully (max, exponentials kept in the scratch buffer) before writing it: scratch
 * 2 * depth bytes (tg_softmax_s16_get_buffer_size); in-place use is allowed. */
void tg_softmax_s16(const tg_context *ctx, const tg_softmax_s16_params *params, const int16_t *input,
                    int16_t *output);
int32_t tg_softmax_s16_get_buffer_size(const tg_softmax_s16_params *params);

/* A 513-entry table of f on a symmetric int16 input, linearly interpolated (TFLite's
 * generic_int16_table_lookup): index (x + 32768) >> 7, the remainder's 7 bits weight the step. */
TG_INLINE int16_t tg_table_lookup_s16(int32_t x, const int16_t *table)
{
    const int32_t index = (x + 32768) >> 7;
    const int32_t base = table[index];
    const int32_t slope = table[index + 1] - base;
    const int32_t delta = (x + 32768) & 127;
    return (int16_t)(base + ((slope * delta + 64) >> 7));
}

/* TFLite's int16 LOGISTIC and TANH (tinygen/ops/sigmoid_s16.py): |x| rescaled to steps of 1 / (3 * 4096) by
 * (x * input_multiplier + rounding) >> input_left_shift (|x * m| <= 2^30), then the sigmoid table interpolated
 * (9 fraction bits for sigmoid, 8 for tanh = 2 sigmoid(2x) - 1) and mirrored for x < 0. Zero points 0, output
 * scale 2^-15. In-place use is allowed (element by element). */
typedef struct {
    int32_t size;             /* elements, >= 1 */
    int32_t input_multiplier; /* in [1, 2^15) */
    int32_t input_left_shift; /* in [0, 31] */
    const uint16_t *table;    /* [256]: sigmoid(i / 24) in unsigned Q0.16 */
} tg_sigmoid_s16_params;

void tg_logistic_s16(const tg_context *ctx, const tg_sigmoid_s16_params *params, const int16_t *input,
                     int16_t *output);
void tg_tanh_s16(const tg_context *ctx, const tg_sigmoid_s16_params *params, const int16_t *input, int16_t *output);

/* Requantization between activation types (TFLite QUANTIZE of an int8 / int16 tensor):
 * out = clamp(output_offset + requant(x + input_offset)), x - zp_in within 17 bits, the multiplier s_in / s_out. */
typedef struct {
    int32_t size;          /* elements, >= 1 */
    int32_t input_offset;  /* -input zero point (0 for int16) */
    int32_t output_offset; /* output zero point (0 for int16) */
    int32_t multiplier;    /* s_in / s_out: 0 or in [2^30, 2^31) */
    int32_t shift;         /* in [-31, 14] (|x| <= 2^16 must not overflow the left shift) */
} tg_requantize_params;

void tg_requantize_s8_s16(const tg_context *ctx, const tg_requantize_params *params, const int8_t *input,
                          int16_t *output);
void tg_requantize_s16_s8(const tg_context *ctx, const tg_requantize_params *params, const int16_t *input,
                          int8_t *output);
void tg_requantize_s16(const tg_context *ctx, const tg_requantize_params *params, const int16_t *input,
                       int16_t *output);

/* The float boundary of <model>_run_float() for int16 inputs and outputs (as tg_quantize_f32 /
 * tg_dequantize_f32, clamped to int16). */
void tg_quantize_f32_s16(const float *input, int16_t *output, const tg_dims *dims, int32_t channels_first,
                         float scale, int32_t zero_point);
void tg_dequantize_f32_s16(const int16_t *input, float *output, const tg_dims *dims, int32_t channels_first,
                           float scale, int32_t zero_point);

#endif /* TG_S16_H */
