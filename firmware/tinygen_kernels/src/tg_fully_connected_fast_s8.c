/* tg_fully_connected_fast_s8: fully connected layer (matrix times vector, per input row), input depth
 * K a multiple of 8. Must equal tg_fully_connected_s8 (the plain C reference), and falls back to it on
 * cores without the DSP extension and for layers the assembly does not take (tg_fc_layer_applies).
 *
 * DSP: the input row is widened once to int16 (+ input offset) in the scratch buffer (tg_dsp.h layout),
 * then two output rows at a time in one assembly loop (tg_fully_connected_dsp.h): per 8 inputs one LDM
 * of the 4 input words, and per row one LDRD of 8 weights, four SXTB16 and four SMLAD -- 19
 * instructions for 16 MACs, each weight read once -- one chunk of 8 per loop iteration. */
#include "tg_fully_connected.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_fully_connected_dsp.h"
#endif

int32_t tg_fully_connected_fast_s8_get_buffer_size(const tg_fully_connected_params *params)
{
    return 8 * ((params->input_depth + 3) / 4); /* the widened input row: 2 words per 4 values */
}

#if defined(__ARM_FEATURE_DSP)
/* K a multiple of 8: one chunk per iteration (frame->blocks = K / 8). */
static void tg_fc_pairs_8(tg_fc_frame *frame, const int8_t *w)
{
    TG_FC_PAIRS(TG_FC_CHUNK_R);
}

/* The same with per-channel requantization. */
static void tg_fc_pairs_8_pc(tg_fc_pc_frame *frame, const int8_t *w)
{
    TG_FC_PAIRS_PC(TG_FC_CHUNK_R);
}
#endif

void tg_fully_connected_fast_s8(const tg_context *ctx, const tg_fully_connected_params *p, const int8_t *input,
                                int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_fc_layer_applies(ctx, p, 8)) {
        if (p->per_channel) {
            tg_fc_layer_pc(ctx, p, input, output, p->input_depth / 8, tg_fc_pairs_8_pc);
        } else {
            tg_fc_layer(ctx, p, input, output, p->input_depth / 8, tg_fc_pairs_8);
        }
        return;
    }
#endif
    tg_fully_connected_s8(ctx, p, input, output);
}
