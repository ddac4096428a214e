/* tg_conv_s4: standard and grouped 2-D convolution with 4-bit weights, plain C99 (tg_s4.h).
 * Input [1, H, W, C_in], filter [C_out, KH, KW, C_in / groups] int4 packed two per byte, output
 * [1, OH, OW, C_out]. Padded input positions are skipped, which equals padding with the input zero point.
 * Weights are unpacked as they are multiplied (tg_s4_dot). Ungrouped without horizontal dilation, the taps
 * of a window row that lie inside the input are one contiguous run in both the input (adjacent pixels,
 * channels last) and the weights, so a row is one dot product (a 1x1 layer: one per output channel). */
#include "tg_s4.h"
#include "internal/tg_s4_unpack.h"

int32_t tg_conv_s4_get_buffer_size(const tg_conv_params *params)
{
    (void)params;
    return 0;
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

void tg_conv_s4(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_w = p->input.w, in_c = p->input.c;
    const int32_t k_w = p->filter.w, group_in_c = p->filter.c;
    const int32_t group_out_c = p->output.c / p->groups;
    const int32_t row_size = p->filter.h * k_w * group_in_c;
    const int32_t runs = p->groups == 1 && p->dilation.w == 1; /* a window row is one run */
    int32_t oy, ox, oc, ky, kx;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        int32_t ky_first, ky_end;
        tg_s4_taps(base_y, p->dilation.h, p->input.h, p->filter.h, &ky_first, &ky_end);
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int8_t *out = output + (oy * p->output.w + ox) * p->output.c;
            int32_t kx_first, kx_end;
            tg_s4_taps(base_x, p->dilation.w, in_w, k_w, &kx_first, &kx_end);
            for (oc = 0; oc < p->output.c; ++oc) {
                const int32_t first_in_c = (oc / group_out_c) * group_in_c;
                const int32_t start = tg_conv_s4_row_start(p, oc, row_size);
                const int32_t q = p->per_channel ? oc : 0;
                int32_t acc = p->bias ? p->bias[oc] : 0;
                for (ky = ky_first; start >= 0 && ky < ky_end; ++ky) { /* a dead channel sums nothing */
                    const int8_t *row = input + (base_y + ky * p->dilation.h) * in_w * in_c + first_in_c;
                    const int32_t taps = start + ky * k_w * group_in_c;
                    if (runs) {
                        acc += tg_s4_dot(p->weights, taps + kx_first * in_c, row + (base_x + kx_first) * in_c,
                                         (kx_end - kx_first) * in_c, p->input_offset);
                        continue;
                    }
                    for (kx = kx_first; kx < kx_end; ++kx) {
                        acc += tg_s4_dot(p->weights, taps + kx * group_in_c,
                                         row + (base_x + kx * p->dilation.w) * in_c, group_in_c, p->input_offset);
                    }
                }
                acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                out[oc] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
            }
        }
    }
}
