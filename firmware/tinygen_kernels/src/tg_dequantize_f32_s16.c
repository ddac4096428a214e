/* tg_dequantize_f32_s16: int16 tensor -> float, (q - zero_point) * scale in float32, transposed to the model's
 * layout if `channels_first`. Mirrored by tinygen.arith.dequantize. */
#include "internal/tg_channels_first.h"
#include "tg_s16.h"

void tg_dequantize_f32_s16(const int16_t *input, float *output, const tg_dims *dims, int32_t channels_first,
                           float scale, int32_t zero_point)
{
    int32_t n, y, x, c, i = 0;
    for (n = 0; n < dims->n; ++n) {
        for (y = 0; y < dims->h; ++y) {
            for (x = 0; x < dims->w; ++x) {
                for (c = 0; c < dims->c; ++c, ++i) {
                    const int32_t to = channels_first ? tg_channels_first_index(dims, n, y, x, c) : i;
                    output[to] = (float)(input[i] - zero_point) * scale;
                }
            }
        }
    }
}
