/* tg_conv_1x1_add_rows_s8: tg_conv_1x1_add_s8 with the scratch for a whole block's outputs before the Add
 * (tg_conv.h). Must equal tg_conv_add_s8 (the plain C reference, its fallback). DSP: tg_conv_1x1_s8's blocks,
 * all of a block's output channels in one pass of the assembly into the scratch, then the block through the
 * residual Add in one call (src/tg_conv_block_add_s8.c, src/tg_add_rows_s8.c): no chunks of a few channels,
 * each its own pass over the block's pixel pairs. With less scratch it is tg_conv_1x1_add_s8 (the same
 * driver: tg_conv_add_temp_bytes picks the mode from the scratch). */
#include "tg_conv.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_conv_dsp.h"
#endif

int32_t tg_conv_1x1_add_rows_s8_get_buffer_size(const tg_conv_add_params *params)
{
    /* an 8-pixel block's outputs (tg_conv_add_temp_bytes), at least the chunked variant's temp */
    return tg_conv_1x1_s8_get_buffer_size(&params->conv) + TG_MAX(TG_CONV_ADD_TEMP_BYTES, 8 * params->conv.output.c);
}

void tg_conv_1x1_add_rows_s8(const tg_context *ctx, const tg_conv_add_params *params, const int8_t *input,
                             const int8_t *residual, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_conv_1x1_run(ctx, &params->conv, input, output, params, residual, tg_conv_add_stage_of(params))) {
        return;
    }
#endif
    tg_conv_add_s8(ctx, params, input, residual, output);
}
