/* tinygen kernel library: the row ring shared by the DSP depthwise variants (internal; see
 * src/tg_depthwise_rows.c). Only for cores with the DSP extension. */
#ifndef TG_DEPTHWISE_ROWS_H
#define TG_DEPTHWISE_ROWS_H

#include "tg_conv.h"
#include "tg_dsp.h"

#define TG_DEPTHWISE_MAX_SLOTS 16 /* rows remembered; a taller dilated kernel re-widens its rows */

typedef struct {
    uint32_t *buf;                       /* slots x width x 2 words */
    int32_t slots;                       /* (KH - 1) * dilation_h + 1 */
    int32_t width;                       /* columns read by one output row */
    int32_t c0;                          /* the channel group: output channels c0 .. c0 + lanes - 1 */
    int32_t lanes;                       /* 1 .. 4 */
    int32_t fast_store;                  /* 4 lanes, each requantized by the fast path, full int8 activation range */
    int32_t tag[TG_DEPTHWISE_MAX_SLOTS]; /* input row in each slot */
    int32_t bias[4];
    tg_dsp_requant_t requant[4];
} tg_depthwise_rows;

void tg_depthwise_rows_init(tg_depthwise_rows *rows, const tg_conv_params *p, uint32_t *buf);
/* Start channel group c0: its lanes, bias, and no input row widened yet. */
void tg_depthwise_group_begin(tg_depthwise_rows *rows, const tg_conv_params *p, int32_t c0);
/* The group's requantization for tg_depthwise_store (tg_depthwise_conv_fast_s8). */
void tg_depthwise_group_requant(tg_depthwise_rows *rows, const tg_conv_params *p);
uint32_t *tg_depthwise_fill_row(tg_depthwise_rows *rows, const tg_conv_params *p, const int8_t *input, int32_t iy,
                                uint32_t *dst);

/* Input row iy widened for the current channel group (widened into its slot unless it is there). */
TG_INLINE const uint32_t *tg_depthwise_row(tg_depthwise_rows *rows, const tg_conv_params *p, const int8_t *input,
                                           int32_t iy)
{
    const int32_t slots = rows->slots;
    const int32_t slot = iy >= 0 ? iy % slots : (slots - 1) - (-iy - 1) % slots;
    uint32_t *dst = rows->buf + slot * rows->width * 2;
    if (slot < TG_DEPTHWISE_MAX_SLOTS) {
        if (rows->tag[slot] == iy) {
            return dst;
        }
        rows->tag[slot] = iy;
    }
    return tg_depthwise_fill_row(rows, p, input, iy, dst);
}

/* Requantize the 4 lanes' accumulators and store them at out[0 .. 3] (rows->fast_store). */
TG_INLINE void tg_depthwise_store_fast(const tg_depthwise_rows *rows, int32_t offset, const int32_t acc[4],
                                       int8_t *out)
{
    out[0] = (int8_t)tg_ssat8(tg_dsp_requant_fast(acc[0], &rows->requant[0]) + offset);
    out[1] = (int8_t)tg_ssat8(tg_dsp_requant_fast(acc[1], &rows->requant[1]) + offset);
    out[2] = (int8_t)tg_ssat8(tg_dsp_requant_fast(acc[2], &rows->requant[2]) + offset);
    out[3] = (int8_t)tg_ssat8(tg_dsp_requant_fast(acc[3], &rows->requant[3]) + offset);
}

/* The same for any group: the valid lanes at out[0 .. lanes - 1]. */
TG_INLINE void tg_depthwise_store(const tg_depthwise_rows *rows, const tg_conv_params *p, const int32_t acc[4],
                                  int8_t *out)
{
    int32_t j;
    if (rows->fast_store) {
        tg_depthwise_store_fast(rows, p->output_offset, acc, out);
        return;
    }
    for (j = 0; j < rows->lanes; ++j) {
        const int32_t v = tg_dsp_requant(acc[j], &rows->requant[j]) + p->output_offset;
        out[j] = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
    }
}

#endif /* TG_DEPTHWISE_ROWS_H */
