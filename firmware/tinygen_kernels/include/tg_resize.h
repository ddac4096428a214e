/* tinygen kernel library: resizing feature maps (ONNX Resize / Upsample, TFLite RESIZE_NEAREST_NEIGHBOR and
 * RESIZE_BILINEAR). */
#ifndef TG_RESIZE_H
#define TG_RESIZE_H

#include "tg_types.h"

/* Where each output row and column reads from, computed at compile time from the model's coordinate
 * transformation (tinygen/ops/resize.py): input [1, H, W, C], output [1, OH, OW, C], the same
 * quantization. y0/x0 (nearest: the only tables) hold an input row / column in [0, H) / [0, W) for each
 * output row / column; the bilinear kernel also reads its second neighbour y1/x1 (same range) and the
 * weight wy/wx of that neighbour in 1/1024 steps, in [0, 1024]. Unused tables are NULL. */
typedef struct {
    tg_dims input;     /* [1, H, W, C] */
    tg_dims output;    /* [1, OH, OW, C], same C */
    const int16_t *y0; /* [OH] */
    const int16_t *y1; /* [OH], bilinear only */
    const int16_t *wy; /* [OH], bilinear only */
    const int16_t *x0; /* [OW] */
    const int16_t *x1; /* [OW], bilinear only */
    const int16_t *wx; /* [OW], bilinear only */
} tg_resize_params;

/* out[y, x, c] = in[y0[y], x0[x], c]: copies, no arithmetic. */
void tg_resize_nearest_s8(const tg_context *ctx, const tg_resize_params *params, const int8_t *input,
                          int8_t *output);

/* TFLite's int8 bilinear arithmetic: sum of the four neighbours' raw values times
 * (1024 - wy)(1024 - wx), wy (1024 - wx), (1024 - wy) wx and wy wx, divided by 2^20 rounding half away
 * from zero. The weights sum to 2^20, so |sum| <= 128 * 2^20 < 2^31 and the result is in [-128, 127]. */
void tg_resize_bilinear_s8(const tg_context *ctx, const tg_resize_params *params, const int8_t *input,
                           int8_t *output);

#endif /* TG_RESIZE_H */
