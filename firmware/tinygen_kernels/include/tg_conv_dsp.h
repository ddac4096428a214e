/* tinygen kernel library: what the DSP convolution variants share (internal; see
 * src/tg_conv_s8_block.c). Only for cores with the DSP extension. */
#ifndef TG_CONV_DSP_H
#define TG_CONV_DSP_H

#include "tg_conv.h"

/* The kinds of output channel (tg_conv_classify). */
#define TG_CONV_GENERAL 0
#define TG_CONV_SHORT 1
#define TG_CONV_DEAD 2

/* Scratch of a variant: the channel kinds (2 bytes per output channel, rounded up to 4), then the
 * widened taps of 8 pixels (`groups` of 4 taps: 2 words each per pixel); with less scratch, of 4. */
#define TG_CONV_KINDS_BYTES(p) ((2 * (p)->output.c + 3) / 4 * 4)
#define TG_CONV_BLOCK_BYTES(groups, pixels) (8 * (groups) * (pixels))

void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets);
void tg_conv_classify(const tg_conv_params *p, int8_t *kinds);
void tg_conv_block_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t half,
                      int32_t taps, int8_t *out, int32_t valid);

#endif /* TG_CONV_DSP_H */
