/* tg_fully_connected_wide_s8: tg_fully_connected_fast_s8 for input depths K a multiple of 128, its
 * loop unrolled 16 chunks of 8 inputs deep (the per-iteration overhead of 2 instructions then costs
 * 1 % of the 304 of an iteration). Must equal tg_fully_connected_s8, and falls back to it as
 * tg_fully_connected_fast_s8 does. */
#include "tg_fully_connected.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_fully_connected_dsp.h"
#endif

int32_t tg_fully_connected_wide_s8_get_buffer_size(const tg_fully_connected_params *params)
{
    return 8 * ((params->input_depth + 3) / 4); /* the widened input row: 2 words per 4 values */
}

#if defined(__ARM_FEATURE_DSP)
/* K a multiple of 128: 16 chunks per iteration (frame->blocks = K / 128), repeated by the assembler. */
static void tg_fc_pairs_128(tg_fc_frame *frame, const int8_t *w)
{
    TG_FC_PAIRS(".rept 16\n\t" TG_FC_CHUNK_R ".endr\n\t");
}

/* The same with per-channel requantization. */
static void tg_fc_pairs_128_pc(tg_fc_pc_frame *frame, const int8_t *w)
{
    TG_FC_PAIRS_PC(".rept 16\n\t" TG_FC_CHUNK_R ".endr\n\t");
}
#endif

void tg_fully_connected_wide_s8(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                                int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_fc_layer_applies(ctx, p, 128)) {
        if (p->per_channel) {
            tg_fc_layer_pc(ctx, p, input, output, p->input_depth / 128, tg_fc_pairs_128_pc);
        } else {
            tg_fc_layer(ctx, p, input, output, p->input_depth / 128, tg_fc_pairs_128);
        }
        return;
    }
#endif
    tg_fully_connected_s8(ctx, p, input, output);
}
