/* tg_conv_1x1_s8: 1x1 convolution (any stride, no padding, groups 1) as a matrix product over pixels.
 * Must equal tg_conv_s8 (the plain C reference), and falls back to it on cores without the DSP
 * extension and for shapes it does not take.
 *
 * DSP: the C_in values of a block of 8 (or 4) output pixels' input pixels are widened once to int16
 * (+ input offset) in the scratch buffer (tg_dsp.h layout), then every output channel runs the 1 x 4
 * microkernel over them: 13 instructions per 16 MACs in the inner loop. No im2col: the input pixel is
 * the column. */
#include "tg_conv.h"
#include "tg_dsp.h"

int32_t tg_conv_1x1_s8_get_buffer_size(const tg_conv_params *params)
{
    const int32_t taps = params->input.c;
    /* requantization table (16 bytes per output channel), then pixels x groups of 4 taps x 2 words */
    return 16 * params->output.c + TG_CONV_BLOCK_PIXELS(taps) * 8 * ((taps + 3) / 4);
}

#if defined(__ARM_FEATURE_DSP)
void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets);
int32_t tg_conv_requant_table(const tg_conv_params *p, void *table);
void tg_conv_block_s8(const tg_conv_params *p, const void *table, int32_t fast, const uint32_t *block, int32_t taps,
                      int8_t *out, int32_t valid);

static int32_t tg_conv_1x1_applies(const tg_context *ctx, const tg_conv_params *p)
{
    return p->filter.h == 1 && p->filter.w == 1 && p->groups == 1 && p->padding.top == 0 && p->padding.left == 0 &&
           p->padding.bottom == 0 && p->padding.right == 0 && ctx != NULL && ctx->buf != NULL &&
           ctx->size >= tg_conv_1x1_s8_get_buffer_size(p);
}
#endif

void tg_conv_1x1_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t in_w = p->input.w, in_c = p->input.c;
    const int32_t out_w = p->output.w, out_c = p->output.c;
    const int32_t pixels = p->output.h * out_w;
    const int32_t block_pixels = TG_CONV_BLOCK_PIXELS(in_c);
    const int32_t half = 8 * ((in_c + 3) / 4); /* words of 4 pixels */
    const uint32_t offsets = tg_pair(p->input_offset);
    uint32_t *table;
    int32_t fast;
    uint32_t *block;
    int32_t first, oy = 0, ox = 0;
    if (!tg_conv_1x1_applies(ctx, p)) {
        tg_conv_s8(ctx, p, input, output);
        return;
    }
    table = (uint32_t *)ctx->buf;
    block = table + 4 * out_c;
    fast = tg_conv_requant_table(p, table);
    for (first = 0; first < pixels; first += block_pixels) {
        const int32_t valid = TG_MIN(block_pixels, pixels - first);
        int32_t j;
        for (j = 0; j < valid; ++j) {
            tg_conv_widen(block + (j >> 2) * half + 2 * (j & 3),
                         input + (oy * p->stride.h * in_w + ox * p->stride.w) * in_c, in_c, offsets);
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
        tg_conv_block_s8(p, table, fast, block, in_c, output + first * out_c, valid);
    }
#else
    tg_conv_s8(ctx, p, input, output);
#endif
}
