/* tg_conv_im2col_add_s8: tg_conv_im2col_s8 fused with the residual Add that consumes it (tg_conv.h). Must equal
 * tg_conv_add_s8 (the plain C reference, its fallback). DSP: tg_conv_im2col_s8's blocks, whose outputs go a few
 * channels at a time into the scratch and from there through the Add with the residual
 * (src/tg_conv_block_add_s8.c). */
#include "tg_conv.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_conv_dsp.h"
#endif

int32_t tg_conv_im2col_add_s8_get_buffer_size(const tg_conv_add_params *params)
{
    return tg_conv_im2col_s8_get_buffer_size(&params->conv) + TG_CONV_ADD_TEMP_BYTES;
}

void tg_conv_im2col_add_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                           const int8_t *residual, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_conv_im2col_run(ctx, &params->conv, input, output, params, residual, tg_conv_add_stage_of(params))) {
        return;
    }
#endif
    tg_conv_add_s8(ctx, params, input, residual, output);
}
