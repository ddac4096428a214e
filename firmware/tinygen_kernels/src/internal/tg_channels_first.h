/* tinygen kernel library: channels-first indexing for the float boundary (internal; see
 * src/tg_quantize_f32.c and src/tg_dequantize_f32.c). */
#ifndef TG_CHANNELS_FIRST_H
#define TG_CHANNELS_FIRST_H

#include "tg_types.h"

/* Index of element (n, y, x, c) of a channels-last tensor within its channels-first twin. */
static inline int32_t tg_channels_first_index(const tg_dims *d, int32_t n, int32_t y, int32_t x, int32_t c)
{
    return ((n * d->c + c) * d->h + y) * d->w + x;
}

#endif /* TG_CHANNELS_FIRST_H */
