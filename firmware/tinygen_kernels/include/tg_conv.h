/* tinygen kernel library: convolutions (standard, grouped, depthwise). */
#ifndef TG_CONV_H
#define TG_CONV_H

#include <stddef.h>

#include "tg_elementwise.h"
#include "tg_types.h"

typedef struct {
    tg_dims input;             /* [1, H, W, C_in] */
    tg_dims filter;            /* standard/grouped: [C_out, KH, KW, C_in / groups]; depthwise: [1, KH, KW, C_out] */
    tg_dims output;            /* [1, OH, OW, C_out] */
    tg_hw stride;              /* >= 1 */
    tg_hw dilation;            /* >= 1 */
    tg_padding padding;        /* >= 0; kernels use top/left; bottom/right are implied by the output size */
    int32_t groups;            /* standard: 1; grouped: C_in / groups input channels per group (C_in and
                                  C_out multiples of it); depthwise: unused */
    int32_t depth_multiplier;  /* depthwise only, >= 1: C_out = C_in * depth_multiplier */
    int32_t input_offset;      /* -input zero point, in [-127, 128] */
    int32_t output_offset;     /* output zero point, in [-128, 127] */
    int32_t activation_min;    /* fused activation clamp, in [-128, 127] */
    int32_t activation_max;    /* in [activation_min, 127] */
    const int8_t *weights;     /* symmetric int8, layout as `filter` */
    const int32_t *bias;       /* [C_out], scale input_scale * weight_scale[c], or NULL (no bias) */
    const int32_t *multiplier; /* requantization, [C_out] if per_channel else [1]; each 0 or in [2^30, 2^31) */
    const int8_t *shift;       /* as multiplier, each in [-31, 30] */
    int32_t per_channel;       /* 1: one (multiplier, shift) per output channel; 0: one for all */
    int32_t accumulator_bits;  /* |accumulator| < 2^accumulator_bits for every input, in every channel
                                  with a shift in [-23, -1] (the DSP variants requantize those with a
                                  shorter exact form when it is <= 29; tg_dsp.h) */
    /* Standard/grouped only: dead output channels (all weights 0, e.g. pruned or never trained)
     * need not be stored. NULL: `weights` holds a row per output channel. Otherwise `weights`
     * holds `stored_rows` rows, those of the live channels in channel order, and rows[c] is
     * channel c's row, or -1 for a dead channel (whose output is the requantized bias). */
    const int16_t *rows;
    int32_t stored_rows;
    /* 1: the output overlaps the input, as the code generator planned it from the kernel's order
     * (the in-place contracts below); the plain kernels then read what a write would destroy from
     * copies in the scratch buffer (their _get_buffer_size bytes). 0: separate buffers. */
    int32_t in_place;
    /* Standard convolutions on DSP cores (tg_conv_block_s8.c), or NULL: the weights again, doubled and
     * widened to int16 in the order SMLAD takes them, so the inner loop loads them as words instead of
     * widening int8 ones (4 SXTB16 per 16 MACs) and the short requantization needs no doubling. Words of
     * two int16 lanes (low, high); per pair of output channels (c even, c + 1), per group g of 4 taps:
     * c's (2 w[4g], 2 w[4g + 2]) and (2 w[4g + 1], 2 w[4g + 3]), then c + 1's two; taps past the row and
     * the missing channel of an odd C_out are 0. Every channel
     * has its place (dead ones too, whatever `rows` says); `weights` stays the truth for everything else.
     * The compiler stores it for the layers a flash allowance buys (tinygen/plan/wide.py). */
    const int32_t *wide;
    /* Standard convolutions on DSP cores (tg_conv_block_s8.c), or NULL: the short requantization's
     * constants of each pair of output channels (c even, c + 1), 8 words in the order the assembly reads
     * them: multiplier c, round c, e c, multiplier c + 1, round c + 1, e c + 1, bias c, bias c + 1, where
     * e = -shift and round = (2 output_offset + 1) << (e - 1) (tg_dsp_short_prepare). Only the channels
     * with that form are read (others: 0; the missing channel of an odd C_out too). The compiler stores
     * it where a layer's blocks are many enough to pay for its flash (tinygen/ops/conv.py). */
    const int32_t *pair_constants;
} tg_conv_params;

/* The weights of output channel oc (rows of `row_size` values), or NULL for a dead channel. */
static inline const int8_t *tg_conv_weights_of(const tg_conv_params *p, int32_t oc, int32_t row_size)
{
    if (p->rows == NULL) {
        return p->weights + oc * row_size;
    }
    return p->rows[oc] < 0 ? NULL : p->weights + p->rows[oc] * row_size;
}

/* Is output channel oc's row the last one stored (nothing readable after it)? */
static inline int32_t tg_conv_last_row(const tg_conv_params *p, int32_t oc)
{
    return p->rows == NULL ? oc == p->output.c - 1 : p->rows[oc] == p->stored_rows - 1;
}

/* out[y, x, c] = clamp(output_offset + requant_c(bias[c] + sum w * (in + input_offset)))
 * Accumulators are int32: |w| <= 128 and |in + input_offset| <= 255, so any
 * filter volume up to 65,000 products cannot overflow (the compiler checks the exact bound).
 *
 * In-place contract (in_place = 1): output pixels in raster order; all the channels of a pixel are
 * computed into the scratch buffer (reading its whole KH x KW x C_in window) and then copied to the
 * output. So the output may start d bytes below the input for any d >= max over pixels p of (end of
 * output pixel p - first input byte of the windows of the pixels after p) (tinygen/ops/orders.py
 * derives it). Scratch: one output pixel, C_out bytes, in place only. */
void tg_conv_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output);
int32_t tg_conv_s8_get_buffer_size(const tg_conv_params *params);
/* The C_out outputs of output pixel (oy, ox) into dst (tg_conv_s8's arithmetic). */
void tg_conv_s8_pixel(const tg_conv_params *params, const int8_t *input, int32_t oy, int32_t ox, int8_t *dst);

/* A convolution fused with the residual Add that consumes it (ResNet's blocks): out = Add(conv(input),
 * residual) with the Add's own parameters, the convolution's output (requantized and clamped as its
 * own layer would) as Add input 1 (`conv_first`) or 2. Bit-exact with the two layers run in turn, with
 * no tensor in between. The residual has the output's shape. */
typedef struct {
    tg_conv_params conv; /* the convolution as its own layer (conv.output: the output's shape) */
    tg_add_params add;   /* the Add as its own layer: add.output is the output's shape, and neither
                            input is broadcast (both strides dense) */
    int32_t conv_first;  /* 1: the convolution's output is Add input 1 (the residual input 2); 0: input 2 */
} tg_conv_add_params;

/* In-place contract: the output may be the residual (same address): each output is written after the
 * residual value at its place was read, and no other residual value is read after it. The input may
 * overlap as for the unfused kernels (conv.in_place). Scratch: one output pixel (C_out bytes). */
void tg_conv_add_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                    const int8_t *residual, int8_t *output);
int32_t tg_conv_add_s8_get_buffer_size(const tg_conv_add_params *params);

/* Cortex-M DSP variants (tg_dsp.h), each bit-exact with tg_conv_s8 and falling back to it where the
 * core has no DSP extension (or the shape is not theirs). Scratch: their _get_buffer_size bytes.
 *   tg_conv_1x1_s8      1x1 kernel, no padding, groups 1, any stride: a matrix product over pixels
 *   tg_conv_im2col_s8   groups 1, any kernel, stride, dilation and padding
 * In-place contract: blocks of 8 output pixels (4 with less scratch) in raster order; all the input
 * windows of a block are widened into the scratch before any output of the block is written. So the
 * output may start d bytes below the input for any d >= max over blocks b of (end of block b's outputs
 * - first input byte of the later blocks' windows), and the same holds for tg_conv_s8 (their fallback,
 * which gets in_place).
 * tg_conv_wrapper_s8 picks the variant for the parameters (the code generator picks it at compile time,
 * by the same rule). */
void tg_conv_1x1_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output);
int32_t tg_conv_1x1_s8_get_buffer_size(const tg_conv_params *params);
void tg_conv_im2col_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output);
int32_t tg_conv_im2col_s8_get_buffer_size(const tg_conv_params *params);
/* The same fused with a residual Add (tg_conv_add_s8 is their fallback); scratch: the unfused variant's
 * and TG_CONV_ADD_TEMP_BYTES more (the block's outputs of a few channels before the Add). The output may
 * be the residual: a block's residual values are read right before its outputs replace them. */
void tg_conv_1x1_add_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                        const int8_t *residual, int8_t *output);
int32_t tg_conv_1x1_add_s8_get_buffer_size(const tg_conv_add_params *params);
void tg_conv_im2col_add_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                           const int8_t *residual, int8_t *output);
int32_t tg_conv_im2col_add_s8_get_buffer_size(const tg_conv_add_params *params);
#define TG_CONV_ADD_TEMP_BYTES 32
/* The same with room for a whole block's outputs before the Add (8 x C_out bytes more scratch at most, instead
 * of TG_CONV_ADD_TEMP_BYTES; 4 x C_out with 4-pixel blocks): one pass of the convolution and one call of the Add
 * per block. With TG_CONV_ADD_TEMP_BYTES only, they are the variants above. */
void tg_conv_1x1_add_rows_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                             const int8_t *residual, int8_t *output);
int32_t tg_conv_1x1_add_rows_s8_get_buffer_size(const tg_conv_add_params *params);
void tg_conv_im2col_add_rows_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                                const int8_t *residual, int8_t *output);
int32_t tg_conv_im2col_add_rows_s8_get_buffer_size(const tg_conv_add_params *params);
void tg_conv_wrapper_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output);
int32_t tg_conv_wrapper_s8_get_buffer_size(const tg_conv_params *params);

/* tg_conv_few_channels_s8 (Cortex-M DSP variant; tg_conv_s8 is its fallback): groups 1, 1 to 4 input
 * channels, no dilation; any kernel, stride and padding (first layers). `packed`, made by the compiler
 * (tinygen/ops/conv.py few_channels_packed), holds for each pair of output channels (an odd last one
 * paired with a zero channel) 2 S + 8 words: the two biases; the weights as int16 tap pairs for SMLAD, a
 * word per pair (tap 2j in the low half, 2j + 1 in the high half), for each step (S = KH x P rounded up
 * to a multiple of 4: S - KH x P padding steps of 0, then s = j * KH + ky for P = ceil(KW * C_in / 2)
 * pairs per kernel row of taps t = kx * C_in + c, 0 beyond KW * C_in) the first channel's word, then
 * the second's; then each channel's short requantization (tg_dsp.h: multiplier, 2^(e-1) + output_offset
 * 2^e, e). `fast` = 1: every channel takes that requantization (dead ones: bias 0, multiplier 0, their
 * constant output) and the clamp is the whole int8 range; 0: the biases and requantization are read from
 * `conv`. conv.weights (and rows) serve the fallback.
 * In-place contract: output rows in order; the KH input rows an output row reads are widened into the
 * scratch before any of its outputs is written (blocks of OW pixels in the terms above). */
typedef struct {
    tg_conv_params conv;
    const int32_t *packed; /* [ceil(C_out / 2)][2 S + 8] */
    int32_t fast;
} tg_conv_few_channels_params;

void tg_conv_few_channels_s8(const tg_context *ctx, const tg_conv_few_channels_params *params, const int8_t *input,
                             int8_t *output);
int32_t tg_conv_few_channels_s8_get_buffer_size(const tg_conv_few_channels_params *params);

/* tg_conv_1x1_few_s8 (Cortex-M DSP variant; tg_conv_s8 is its fallback): 1x1 kernel, no padding, groups 1,
 * any stride, 4 or 8 input channels, `fast` layers only (else the fallback). `packed` is
 * few_channels_packed's layout of the weights with each group of 4 input channels permuted 0 2 1 3 (the
 * SXTAB16 lane order), so step 2g pairs channels (4g, 4g + 2) and step 2g + 1 (4g + 1, 4g + 3). Each input
 * pixel is widened into registers once and reused for every output channel; no scratch of its own (the
 * fallback's in place). In-place contract: output pixels in raster order, each reading its input pixel
 * before writing (blocks of 1 pixel). */
void tg_conv_1x1_few_s8(const tg_context *ctx, const tg_conv_few_channels_params *params, const int8_t *input,
                        int8_t *output);
int32_t tg_conv_1x1_few_s8_get_buffer_size(const tg_conv_few_channels_params *params);

/* Transposed convolution (ONNX ConvTranspose, TFLite TRANSPOSE_CONV), standard or grouped, with the
 * convolution's parameters read the other way round: input [1, H, W, C_in], filter [C_out, KH, KW,
 * C_in / groups] (OHWI), output [1, OH, OW, C_out]. Input pixel (iy, ix) through tap (ky, kx) lands on
 * output (iy * stride.h + ky * dilation.h - padding.top, ix * stride.w + kx * dilation.w - padding.left);
 * padding.top/left (>= 0) crop the beginning of the full output, and the output size implies the rest
 * (bottom/right crop, output_padding). groups: C_in / groups input and C_out / groups output channels
 * per group (depthwise: groups = C_in). Each output pixel gathers the taps that land on it, so the
 * kernel needs no scratch; it never runs in place (in_place = 0), and rows/stored_rows, per_channel and
 * the requantization are read as for tg_conv_s8. */
void tg_conv_transpose_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                          int8_t *output);
int32_t tg_conv_transpose_s8_get_buffer_size(const tg_conv_params *params);

/* In-place contract (in_place = 1; channel multiplier 1, the output at the input's address): output
 * pixels in raster order; before any channel of output pixel p is written, input pixel p (the bytes it
 * overwrites) is copied into a ring of the last R input pixels in the scratch buffer, and every input
 * pixel q <= p is read from the ring: R - 1 is the largest distance back from a pixel to the first
 * input pixel its window reads (tg_depthwise_conv_s8_ring_pixels; W + 2 for a 3x3 window padded by 1,
 * 1 for stride 2 without top padding). Scratch: R x C bytes, in_place only. */
void tg_depthwise_conv_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                          int8_t *output);
int32_t tg_depthwise_conv_s8_get_buffer_size(const tg_conv_params *params);
int32_t tg_depthwise_conv_s8_ring_pixels(const tg_conv_params *params);

/* Cortex-M DSP variants of the depthwise convolution, bit-exact with tg_depthwise_conv_s8 (its
 * fallback):
 *   tg_depthwise_conv_3x3_s8    3x3 kernel, multiplier 1, no dilation; any stride and padding
 *   tg_depthwise_conv_fast_s8   any kernel, stride, dilation, padding and multiplier
 * In-place contract (channel multiplier 1, the output at the input's address): groups of 4 channels in
 * turn (a channel-outer order: it only touches the group's own channels); within a group, output rows
 * in order (tg_depthwise_conv_3x3_s8: output columns, input columns for rows, when the output has more
 * rows than columns at stride 1), and the input rows a row needs are widened into the ring of row
 * slots before any of its outputs is written; rows still needed stay in the ring, so what a written row
 * destroys is never read again. Their _get_buffer_size also covers tg_depthwise_conv_s8's ring (their
 * fallback).
 * tg_depthwise_conv_wrapper_s8 picks one for the parameters (the code generator, at compile time). */
void tg_depthwise_conv_3x3_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                              int8_t *output);
int32_t tg_depthwise_conv_3x3_s8_get_buffer_size(const tg_conv_params *params);
/* The least scratch tg_depthwise_conv_3x3_s8 runs in (its row order): a tall output (more rows than
 * columns, stride 1) runs transposed, output columns as rows, given its _get_buffer_size bytes, and in
 * rows given less (at least this many); other outputs always run in rows (both sizes are the same). */
int32_t tg_depthwise_conv_3x3_s8_row_order_buffer_size(const tg_conv_params *params);
void tg_depthwise_conv_fast_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                               int8_t *output);
int32_t tg_depthwise_conv_fast_s8_get_buffer_size(const tg_conv_params *params);
void tg_depthwise_conv_wrapper_s8(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                                  int8_t *output);
int32_t tg_depthwise_conv_wrapper_s8_get_buffer_size(const tg_conv_params *params);

#endif /* TG_CONV_H */
