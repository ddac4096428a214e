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

/* The two values of a packed byte (uint32_t in [0, 255]), sign-extended with (n ^ 8) - 8: defined C for every
 * nibble n in [0, 15] (no shift of a negative number); GCC makes each one signed bit-field extract. */
#define TG_S4_LOW(byte) ((int32_t)(((byte)&15u) ^ 8u) - 8)
#define TG_S4_HIGH(byte) ((int32_t)((((byte) >> 4) & 15u) ^ 8u) - 8)

/* Value `index` of packed int4 data. */
static inline int32_t tg_s4_at(const int8_t *packed, int32_t index)
{
    const uint32_t byte = (uint8_t)packed[index >> 1];
    return (index & 1) ? TG_S4_HIGH(byte) : TG_S4_LOW(byte);
}

/* The taps k in [first, end) of a window axis whose input position base + k * dilation lies in [0, size):
 * the kernels loop over those only, instead of testing every tap. */
static inline void tg_s4_taps(int32_t base, int32_t dilation, int32_t size, int32_t taps, int32_t *first,
                              int32_t *end)
{
    int32_t lo = base < 0 ? (-base + dilation - 1) / dilation : 0;
    int32_t hi = base < size ? (size - base + dilation - 1) / dilation : 0;
    *first = lo < taps ? lo : taps;
    *end = hi < taps ? hi : taps;
    if (*end < *first) {
        *end = *first;
    }
}

/* sum over j < count of w[start + j] * (x[j] + offset), w packed int4: an odd start takes one high nibble
 * first, then one byte (two weights) per step, and a last low nibble if one is left. */
static inline int32_t tg_s4_dot(const int8_t *packed, int32_t start, const int8_t *x, int32_t count, int32_t offset)
{
    int32_t acc = 0;
    int32_t j = 0;
    const uint8_t *bytes;
    if (count > 0 && (start & 1)) {
        acc += tg_s4_at(packed, start) * (x[0] + offset);
        j = 1;
    }
    bytes = (const uint8_t *)packed + ((start + j) >> 1);
    for (; j + 1 < count; j += 2) {
        const uint32_t byte = *bytes++;
        acc += TG_S4_LOW(byte) * (x[j] + offset);
        acc += TG_S4_HIGH(byte) * (x[j + 1] + offset);
    }
    if (j < count) {
        acc += tg_s4_at(packed, start + j) * (x[j] + offset);
    }
    return acc;
}

/* Standard and grouped 2-D convolution, tg_conv_s8's arithmetic and layouts (filter [C_out, KH, KW,
 * C_in / groups] packed), any kernel, stride, dilation and padding; dead output channels as tg_conv_s8
 * (rows / stored_rows: the stored rows packed one after the other). No scratch; never in place (in_place 0). */
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
