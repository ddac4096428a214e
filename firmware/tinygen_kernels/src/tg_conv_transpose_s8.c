/* tg_conv_transpose_s8: standard and grouped 2-D transposed convolution, plain C99.
 * Input [1, H, W, C_in], filter [C_out, KH, KW, C_in / groups], output [1, OH, OW, C_out].
 *
 * Gather formulation: output pixel (oy, ox) sums the taps (ky, kx) whose input position
 * iy = (oy + pad_top - ky * dilation_h) / stride_h is a whole number inside the input (the same for x).
 * TFLite's reference scatters every input pixel into an int32 buffer of the whole output instead; the
 * integer sums are the same, and gathering needs no scratch and writes each output once. Accumulators are
 * int32: the compiler checks that bias + the sum over all of a channel's taps cannot overflow, and a
 * pixel sums a subset of them. */
#include "tg_conv.h"
#include "tg_requant.h"

int32_t tg_conv_transpose_s8_get_buffer_size(const tg_conv_params *params)
{
    (void)params;
    return 0;
}

/* The first tap k >= 0 whose position (o + pad - k * dilation) is a multiple of stride, or -1 when none
 * is: positions of consecutive taps differ by dilation, so they repeat with period stride / gcd. */
static int32_t tg_first_tap(int32_t position, int32_t stride, int32_t dilation, int32_t kernel)
{
    int32_t k;
    for (k = 0; k < kernel && k < stride; ++k) {
        const int32_t t = position - k * dilation;
        if (t % stride == 0) { /* C99: the sign of t % stride follows t, 0 either way */
            return k;
        }
    }
    return -1;
}

void tg_conv_transpose_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, group_in_c = p->filter.c;
    const int32_t out_c = p->output.c, group_out_c = p->output.c / p->groups;
    const int32_t s_h = p->stride.h, s_w = p->stride.w, d_h = p->dilation.h, d_w = p->dilation.w;
    int32_t step_y = 1, step_x = 1, oy, ox, oc, ky, kx, ic;
    (void)ctx;
    /* Taps k, k + step, ... divide when k does: step = stride / gcd(stride, dilation). */
    while ((step_y * d_h) % s_h != 0) {
        ++step_y;
    }
    while ((step_x * d_w) % s_w != 0) {
        ++step_x;
    }
    for (oy = 0; oy < p->output.h; ++oy) {
        const int32_t pos_y = oy + p->padding.top;
        const int32_t first_ky = tg_first_tap(pos_y, s_h, d_h, k_h);
        for (ox = 0; ox < p->output.w; ++ox) {
            const int32_t pos_x = ox + p->padding.left;
            const int32_t first_kx = tg_first_tap(pos_x, s_w, d_w, k_w);
            int8_t *out = output + (oy * p->output.w + ox) * out_c;
            for (oc = 0; oc < out_c; ++oc) {
                const int32_t first_in_c = (oc / group_out_c) * group_in_c;
                const int8_t *filter = tg_conv_weights_of(p, oc, k_h * k_w * group_in_c);
                int32_t acc = p->bias ? p->bias[oc] : 0;
                for (ky = first_ky; filter != NULL && ky >= 0 && ky < k_h; ky += step_y) {
                    const int32_t in_y = (pos_y - ky * d_h) / s_h;
                    if (in_y < 0 || in_y >= in_h) {
                        continue;
                    }
                    for (kx = first_kx; kx >= 0 && kx < k_w; kx += step_x) {
                        const int32_t in_x = (pos_x - kx * d_w) / s_w;
                        const int8_t *pixel;
                        const int8_t *taps;
                        if (in_x < 0 || in_x >= in_w) {
                            continue;
                        }
                        pixel = input + (in_y * in_w + in_x) * in_c + first_in_c;
                        taps = filter + (ky * k_w + kx) * group_in_c;
                        for (ic = 0; ic < group_in_c; ++ic) {
                            acc += taps[ic] * (pixel[ic] + p->input_offset);
                        }
                    }
                }
                {
                    const int32_t q = p->per_channel ? oc : 0;
                    acc = tg_requantize(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                }
                out[oc] = (int8_t)TG_CLAMP(acc, p->activation_min, p->activation_max);
            }
        }
    }
}
