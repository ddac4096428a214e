/* tg_depthwise_conv_s4: depthwise 2-D convolution with 4-bit weights, plain C99 (tg_s4.h).
 * Input [1, H, W, C_in], filter [1, KH, KW, C_out] int4 packed two per byte (tap t of channel c is value
 * t * C_out + c), output [1, OH, OW, C_out] with C_out = C_in * depth_multiplier: channel c reads input
 * channel c / depth_multiplier. Padded input positions are skipped (the input zero point).
 * With C_out even, channels 2i and 2i + 1 share one byte at every tap, so they are computed together: one
 * load gives both weights. Otherwise each weight is read alone (tg_s4_at). */
#include "tg_s4.h"
#include "internal/tg_s4_unpack.h"

int32_t tg_depthwise_conv_s4_get_buffer_size(const tg_conv_params *params)
{
    (void)params;
    return 0;
}

static int8_t tg_depthwise_conv_s4_out(const tg_conv_params *p, int32_t oc, int32_t acc)
{
    const int32_t q = p->per_channel ? oc : 0;
    acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
    return (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
}

void tg_depthwise_conv_s4(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_w = p->input.w, in_c = p->input.c;
    const int32_t k_w = p->filter.w, out_c = p->output.c;
    const int32_t multiplier = p->depth_multiplier, offset = p->input_offset;
    const int32_t pairs = (out_c & 1) == 0 ? out_c : 0; /* channels computed two at a time */
    const uint8_t *bytes = (const uint8_t *)p->weights;
    /* steps between taps: the next tap of a row in the input and in the packed weights (C_out / 2 bytes, C_out
     * even on the paired path), the next row of the window in the input */
    const int32_t pixel_step = p->dilation.w * in_c, tap_step = out_c / 2, row_step = p->dilation.h * in_w * in_c;
    int32_t oy, ox, oc, ky, kx, taps;
    (void)ctx;
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t base_y = oy * p->stride.h - p->padding.top;
        int32_t ky_first, ky_end;
        tg_s4_taps(base_y, p->dilation.h, p->input.h, p->filter.h, &ky_first, &ky_end);
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t base_x = ox * p->stride.w - p->padding.left;
            int8_t *out = output + (oy * p->output.w + ox) * out_c;
            int32_t kx_first, kx_end;
            tg_s4_taps(base_x, p->dilation.w, in_w, k_w, &kx_first, &kx_end);
            taps = (ky_end - ky_first) * (kx_end - kx_first);
            for (oc = 0; oc < pairs; oc += 2) {
                int32_t acc0 = p->bias ? p->bias[oc] : 0;
                int32_t acc1 = p->bias ? p->bias[oc + 1] : 0;
                if (taps > 0) { /* pointers only to taps inside the input */
                    /* the window's first tap inside the input, for channels oc and oc + 1: its input pixel and
                     * weights byte; the others a whole number of taps (kx) and rows of taps (ky) further */
                    const int8_t *first = input + ((base_y + ky_first * p->dilation.h) * in_w + base_x +
                                                   kx_first * p->dilation.w) *
                                                      in_c;
                    const uint8_t *w_first = bytes + ((ky_first * k_w + kx_first) * out_c + oc) / 2;
                    const int32_t ic0 = oc / multiplier, ic1 = (oc + 1) / multiplier;
                    for (ky = 0; ky < ky_end - ky_first; ++ky) {
                        const int8_t *row = first + ky * row_step;
                        const uint8_t *w = w_first + ky * k_w * tap_step;
                        for (kx = 0; kx < kx_end - kx_first; ++kx) {
                            const uint32_t byte = w[kx * tap_step];
                            acc0 += TG_S4_LOW(byte) * (row[kx * pixel_step + ic0] + offset);
                            acc1 += TG_S4_HIGH(byte) * (row[kx * pixel_step + ic1] + offset);
                        }
                    }
                }
                out[oc] = tg_depthwise_conv_s4_out(p, oc, acc0);
                out[oc + 1] = tg_depthwise_conv_s4_out(p, oc + 1, acc1);
            }
            for (oc = pairs; oc < out_c; ++oc) {
                const int32_t ic = oc / multiplier;
                int32_t acc = p->bias ? p->bias[oc] : 0;
                for (ky = ky_first; ky < ky_end; ++ky) {
                    const int8_t *row = input + (base_y + ky * p->dilation.h) * in_w * in_c;
                    for (kx = kx_first; kx < kx_end; ++kx) {
                        acc += tg_s4_at(p->weights, (ky * k_w + kx) * out_c + oc) *
                               (row[(base_x + kx * p->dilation.w) * in_c + ic] + offset);
                    }
                }
                out[oc] = tg_depthwise_conv_s4_out(p, oc, acc);
            }
        }
    }
}
