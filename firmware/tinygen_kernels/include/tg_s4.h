/* tinygen kernel library: layers with 4-bit weights (convolution, depthwise convolution, fully connected).
 *
 * The weights are int4 values packed two per byte in the flat order of the int8 layout, as TFLite's and
 * CMSIS-NN's int4 kernels read them: value i is the low nibble of byte i / 2 for even i and the high nibble
 * for odd i, two's complement (sign-extended); an odd count leaves the last byte's high nibble 0. The
 * compiler writes values in [-7, 7] (symmetric per channel); the kernels read [-8, 7]. The parameter
 * structs are the int8 kernels' (tg_conv_params, tg_fully_connected_params), with `weights` pointing at the
 * packed bytes; everything else (offsets, requantization, clamp, dead rows) reads as for the int8 kernel.
 * With |w| <= 8 and |x + input_offset| <= 255 the int32 accumulator has room for 2^20 products.
 */
#ifndef TG_S4_H
#define TG_S4_H

#include "tg_conv.h"
#include "tg_fully_connected.h"
#include "tg_types.h"

/* Standard and grouped 2-D convolution, tg_conv_s8's arithmetic and layouts (filter [C_out, KH, KW,
 * C_in / groups] packed), any kernel, stride, dilation and padding; dead output channels as tg_conv_s8
 * (rows / stored_rows: the stored rows packed one after the other). Scratch: one input window of one group,
 * KH x KW x C_in / groups bytes (tg_conv_s4_get_buffer_size); never in place (in_place 0). */
void tg_conv_s4(const tg_context *ctx, const tg_conv_params *params, const int8_t *input, int8_t *output);
int32_t tg_conv_s4_get_buffer_size(const tg_conv_params *params);

/* Depthwise 2-D convolution, tg_depthwise_conv_s8's arithmetic and layouts (filter [1, KH, KW, C_out]
 * packed), any kernel, stride, dilation, padding and channel multiplier. No scratch; never in place. */
void tg_depthwise_conv_s4(const tg_context *ctx, const tg_conv_params *params, const int8_t *input,
                          int8_t *output);
int32_t tg_depthwise_conv_s4_get_buffer_size(const tg_conv_params *params);

/* Fully connected, tg_fully_connected_s8's arithmetic: input [rows, K], weights [N, K] packed (row n
 * starts at value n * K, so with K odd every other row starts in a high nibble), output [rows, N]. */
void tg_fully_connected_s4(const tg_context *ctx, const tg_fully_connected_params *params, const int8_t *input,
                           int8_t *output);
int32_t tg_fully_connected_s4_get_buffer_size(const tg_fully_connected_params *params);

#endif /* TG_S4_H */
