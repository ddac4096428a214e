/* tg_conv_1x1_s8: 1x1 convolution (any stride, no padding, groups 1) as a matrix product over pixels.
 * Must equal tg_conv_s8 (the plain C reference), and falls back to it on cores without the DSP
 * extension and for shapes it does not take.
 *
 * DSP: the C_in values of a block of 8 output pixels' input pixels (4 with less scratch) are widened
 * once to int16 (+ input offset) in the scratch buffer (tg_conv_dsp.h layout), then every pair of output
 * channels runs the 2 x 2 microkernel over each pixel pair: 20 cycles per 16 MACs in the inner loop. No im2col: the
 * input pixel is the column. Scratch: 2 bytes per output channel and 16 per input channel. */
#include "tg_conv.h"
#include "internal/tg_dsp.h"

int32_t tg_conv_1x1_s8_get_buffer_size(const tg_conv_params *params)
{
    /* the channel kinds, 8 pixels' taps widened to int16 (tg_conv_dsp.h; 4 pixels' do with less) */
    return (2 * params->output.c + 3) / 4 * 4 + 64 * ((params->input.c + 3) / 4);
}

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_conv_dsp.h"

static int32_t tg_conv_1x1_applies(const tg_conv_params *p)
{
    return p->filter.h == 1 && p->filter.w == 1 && p->groups == 1 && p->padding.top == 0 && p->padding.left == 0 &&
           p->padding.bottom == 0 && p->padding.right == 0;
}

/* The layer, or 0 when this variant does not take it. Fused (stage): the blocks' outputs go through the
 * residual Add, with TG_CONV_ADD_TEMP_BYTES more scratch, or a block's outputs (tg_conv_add_temp_bytes). */
int32_t tg_conv_1x1_run(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output,
                        const tg_conv_add_params *f, const int8_t *residual, tg_conv_add_stage stage)
{
    const int32_t in_w = p->input.w, in_c = p->input.c;
    const int32_t out_w = p->output.w, out_c = p->output.c;
    const int32_t pixels = p->output.h * out_w;
    const int32_t groups = (in_c + 3) / 4;
    const int32_t kinds_bytes = TG_CONV_KINDS_BYTES(p) + (stage != NULL ? TG_CONV_ADD_TEMP_BYTES : 0);
    const uint32_t offsets = tg_pair(p->input_offset);
    int32_t block_pixels, temp_bytes = 0, first, oy = 0, ox = 0;
    int8_t *kinds;
    uint32_t *block;
    if (!tg_conv_1x1_applies(p) || ctx == NULL || ctx->buf == NULL ||
        ctx->size < kinds_bytes + TG_CONV_BLOCK_BYTES(groups, 4)) {
        return 0;
    }
    block_pixels = ctx->size >= kinds_bytes + TG_CONV_BLOCK_BYTES(groups, 8) ? 8 : 4;
    if (stage != NULL) {
        temp_bytes = tg_conv_add_temp_bytes(p, block_pixels, ctx->size, TG_CONV_BLOCK_BYTES(groups, block_pixels));
    }
    kinds = (int8_t *)ctx->buf; /* then the Add's temp, when fused */
    block = (uint32_t *)(kinds + TG_CONV_KINDS_BYTES(p) + temp_bytes);
    tg_conv_classify(p, kinds);
    for (first = 0; first < pixels; first += block_pixels) {
        const int32_t valid = TG_MIN(block_pixels, pixels - first);
        int32_t j;
        for (j = 0; j < valid; ++j) {
            tg_conv_widen(TG_CONV_SLOT(block, groups, j),
                          input + (oy * p->stride.h * in_w + ox * p->stride.w) * in_c, in_c, offsets);
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
        if (stage != NULL) {
            stage(f, kinds, block, in_c, residual + first * out_c, output + first * out_c, valid,
                  kinds + TG_CONV_KINDS_BYTES(p), temp_bytes);
        } else {
            tg_conv_block_s8(p, kinds, block, in_c, output + first * out_c, valid);
        }
    }
    return 1;
}
#endif

void tg_conv_1x1_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_conv_1x1_run(ctx, p, input, output, NULL, NULL, NULL)) {
        return;
    }
#endif
    tg_conv_s8(ctx, p, input, output);
}
