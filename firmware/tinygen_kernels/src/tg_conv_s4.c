/* tg_conv_s4: standard and grouped 2-D convolution with 4-bit weights, plain C99 (the DSP extension where the
 * core has it, inside tg_s4_dot). Input [1, H, W, C_in], filter [C_out, KH, KW, C_in / groups] int4 packed two
 * per byte, output [1, OH, OW, C_out].
 * Per output pixel and group, the input window (KH x KW x C_in / groups values, in the filter's order) is
 * gathered into the scratch buffer once, its padded taps set to the input zero point (-input_offset, which
 * contributes 0 once the offset is added: the same as skipping them); then every output channel of the group
 * is one dot product of that window with its weights row, unpacked as it is multiplied (tg_s4_dot). With the
 * DSP extension and rows of even length, the window is also widened to int16 once (tg_s4_widen), so each
 * output channel's dot product only unpacks its weights. */
#include <string.h>

#include "tg_s4.h"
#include "internal/tg_s4_unpack.h"

/* One window of one group, rounded up to 4 bytes, then (used on DSP cores) its blocks widened to int16. */
int32_t tg_conv_s4_get_buffer_size(const tg_conv_params *params)
{
    const int32_t window = params->filter.h * params->filter.w * params->filter.c;
    return (window + 3) / 4 * 4 + TG_S4_WIDE_BYTES(window);
}

/* The first value of output channel oc's weights, or -1 for a dead channel (tg_conv_weights_of's rule, in
 * values instead of bytes: a row of packed values may start in the middle of a byte). */
static int32_t tg_conv_s4_row_start(const tg_conv_params *p, int32_t oc, int32_t row_size)
{
    if (p->rows == NULL) {
        return oc * row_size;
    }
    return p->rows[oc] < 0 ? -1 : p->rows[oc] * row_size;
}

/* The window of output pixel (oy, ox) over the channels [first_in_c, first_in_c + C_in / groups) into dst. */
static void tg_conv_s4_window(const tg_conv_params *p, const int8_t *input, int32_t oy, int32_t ox,
                              int32_t first_in_c, int8_t *dst)
{
    const int32_t group_in_c = p->filter.c;
    const int8_t pad = (int8_t)-p->input_offset; /* the input zero point, in [-128, 127] */
    const int32_t base_y = oy * p->stride.h - p->padding.top, base_x = ox * p->stride.w - p->padding.left;
    int32_t ky, kx;
    for (ky = 0; ky < p->filter.h; ++ky) {
        const int32_t in_y = base_y + ky * p->dilation.h;
        for (kx = 0; kx < p->filter.w; ++kx) {
            const int32_t in_x = base_x + kx * p->dilation.w;
            int8_t *tap = dst + (ky * p->filter.w + kx) * group_in_c;
            if (in_y < 0 || in_y >= p->input.h || in_x < 0 || in_x >= p->input.w) {
                memset(tap, pad, (size_t)group_in_c);
            } else {
                memcpy(tap, input + (in_y * p->input.w + in_x) * p->input.c + first_in_c, (size_t)group_in_c);
            }
        }
    }
}

void tg_conv_s4(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    const int32_t group_in_c = p->filter.c, group_out_c = p->output.c / p->groups;
    const int32_t row_size = p->filter.h * p->filter.w * group_in_c;
    int8_t *window = (int8_t *)ctx->buf;
    uint8_t *wide = (uint8_t *)ctx->buf + (row_size + 3) / 4 * 4;
    const int32_t widened = (row_size & 1) == 0; /* every row starts at an even value */
    int32_t oy, ox, g, oc;
    for (oy = 0; oy < p->output.h; ++oy) {
        for (ox = 0; ox < p->output.w; ++ox) {
            int8_t *out = output + (oy * p->output.w + ox) * p->output.c;
            for (g = 0; g < p->groups; ++g) {
                tg_conv_s4_window(p, input, oy, ox, g * group_in_c, window);
                if (widened) {
                    tg_s4_widen(window, row_size, p->input_offset, wide);
                }
                for (oc = g * group_out_c; oc < (g + 1) * group_out_c; ++oc) {
                    const int32_t start = tg_conv_s4_row_start(p, oc, row_size);
                    const int32_t q = p->per_channel ? oc : 0;
                    int32_t acc = p->bias ? p->bias[oc] : 0;
                    if (start >= 0 && widened) { /* a dead channel sums nothing */
                        acc += tg_s4_dot_widened(p->weights, start, window, wide, row_size, p->input_offset);
                    } else if (start >= 0) {
                        acc += tg_s4_dot(p->weights, start, window, row_size, p->input_offset);
                    }
                    acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                    out[oc] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
                }
            }
        }
    }
}
