/* tinygen kernel library: the float <-> int8 boundary used by <model>_run_float(). */
#ifndef TG_QUANTIZE_H
#define TG_QUANTIZE_H

#include "tg_types.h"

/* Quantize float values into an int8 tensor of physical shape `dims` (channels-last):
 * q = clamp(round(x / scale) + zero_point), rounding ties away from zero (std::round, as
 * TFLite's QUANTIZE), computed in float32; NaN becomes the zero point. If `channels_first`,
 * the float input is laid out [N, C, H, W] (the ONNX model's order) and is transposed. */
void tg_quantize_f32(const float *input, int8_t *output, const tg_dims *dims, int32_t channels_first,
                     float scale, int32_t zero_point);

/* x = (q - zero_point) * scale in float32, transposed to [N, C, H, W] if `channels_first`. */
void tg_dequantize_f32(const int8_t *input, float *output, const tg_dims *dims, int32_t channels_first,
                       float scale, int32_t zero_point);

#endif /* TG_QUANTIZE_H */
