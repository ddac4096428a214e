/* tinygen kernel library: what the DSP convolution variants share (internal; see
 * src/tg_conv_block_s8.c). Only for cores with the DSP extension. */
#ifndef TG_CONV_DSP_H
#define TG_CONV_DSP_H

#include "tg_conv.h"

/* The kinds of output channel (tg_conv_classify). */
#define TG_CONV_GENERAL 0
#define TG_CONV_SHORT 1
#define TG_CONV_DEAD 2

/* Scratch of a variant: the channel kinds (2 bytes per output channel, rounded up to 4), then the
 * widened taps of 8 pixels (`groups` of 4 taps: 2 words each per pixel); with less scratch, of 4.
 *
 * The block's layout: pixel pairs one after the other (pixel j in pair j / 2), each pair's taps as
 *
 *     group g: [p0 even, p0 odd, p1 even, p1 odd]   (TG_CONV_GROUP_WORDS = 4 words, tg_dsp.h's lanes)
 *
 * so that the 2-channel x 2-pixel assembly (tg_conv_block_s8.c) walks one pair's groups with one
 * pointer that ends where the next pair begins. TG_CONV_SLOT: where pixel j's first group starts. */
#define TG_CONV_KINDS_BYTES(p) ((2 * (p)->output.c + 3) / 4 * 4)
#define TG_CONV_BLOCK_BYTES(groups, pixels) (8 * (groups) * (pixels))
#define TG_CONV_GROUP_WORDS 4
#define TG_CONV_SLOT(block, groups, j) ((block) + ((j) >> 1) * TG_CONV_GROUP_WORDS * (groups) + 2 * ((j)&1))

void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets);
void tg_conv_classify(const tg_conv_params *p, int8_t *kinds);
void tg_conv_block_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t taps, int8_t *out,
                      int32_t valid);
void tg_conv_block_range_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t taps,
                            int8_t *out, int32_t stride, int32_t c_begin, int32_t c_end, int32_t valid);
/* The output stages of the fused variants (src/tg_conv_block_add_s8.c): the block's outputs into `temp`
 * (temp_bytes: all of them, or a few channels at a time), then Added to the residual into out; _exact_s8
 * where tg_add_rows_s8's loop applies (a block's outputs up to TG_CONV_ADD_LOCAL_BYTES on the stack), else
 * tg_conv_block_add_s8. tg_conv_add_stage_of picks the one for f. */
void tg_conv_block_add_s8(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block, int32_t taps,
                          const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp, int32_t temp_bytes);
void tg_conv_block_add_exact_s8(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block, int32_t taps,
                                const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp, int32_t temp_bytes);
/* Bytes of stack tg_conv_block_add_s8 keeps for a block's outputs that its scratch temp holds only in chunks. */
#define TG_CONV_ADD_LOCAL_BYTES 64
typedef void (*tg_conv_add_stage)(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block,
                                  int32_t taps, const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp,
                                  int32_t temp_bytes);
tg_conv_add_stage tg_conv_add_stage_of(const tg_conv_add_params *f);
/* The fused variants' Add temp (after the channel kinds) with blocks of `pixels`: a whole block's outputs
 * (pixels * C_out bytes: one pass of the convolution, one call of the Add) when `size` bytes of scratch hold
 * them beside the kinds and `rest` (the block's widened taps, the gather row), else TG_CONV_ADD_TEMP_BYTES (a
 * few channels at a time: the least scratch). (tinygen/ops/conv.py's "rows" variants.) */
TG_INLINE int32_t tg_conv_add_temp_bytes(const tg_conv_params *p, int32_t pixels, int32_t size, int32_t rest)
{
    const int32_t rows = TG_MAX(TG_CONV_ADD_TEMP_BYTES, pixels * p->output.c);
    return size >= TG_CONV_KINDS_BYTES(p) + rows + rest ? rows : TG_CONV_ADD_TEMP_BYTES;
}
/* The drivers of tg_conv_1x1_s8 / tg_conv_im2col_s8, fused (f, residual, stage) or not (all NULL); 0:
 * the variant does not take the layer (the caller falls back to the plain kernel). */
int32_t tg_conv_1x1_run(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output,
                        const tg_conv_add_params *f, const int8_t *residual, tg_conv_add_stage stage);
int32_t tg_conv_im2col_run(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output,
                           const tg_conv_add_params *f, const int8_t *residual, tg_conv_add_stage stage);

#endif /* TG_CONV_DSP_H */
