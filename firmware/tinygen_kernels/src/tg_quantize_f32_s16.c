/* tg_quantize_f32_s16: float input -> int16 tensor, the float boundary of a model with int16 inputs
 * (tg_quantize_f32's rounding, clamped to int16). Mirrored by tinygen.arith.quantize_float(..., "int16"). */
#include "internal/tg_channels_first.h"
#include "tg_s16.h"

static int16_t quantize_one(float x, float scale, int32_t zero_point)
{
    float v = x / scale;
    int32_t q;
    float fraction;
    if (!(v == v)) { /* NaN */
        v = 0.0f;
    }
    v = v < -1e6f ? -1e6f : (v > 1e6f ? 1e6f : v); /* converting an out-of-range float is undefined */
    q = (int32_t)v;                                /* truncates toward zero */
    fraction = v - (float)q;                       /* exact */
    q += fraction >= 0.5f ? 1 : (fraction <= -0.5f ? -1 : 0);
    q += zero_point;
    return (int16_t)TG_CLAMP(q, -32768, 32767);
}

void tg_quantize_f32_s16(const float *input, int16_t *output, const tg_dims *dims, int32_t channels_first,
                         float scale, int32_t zero_point)
{
    int32_t n, y, x, c, i = 0;
    for (n = 0; n < dims->n; ++n) {
        for (y = 0; y < dims->h; ++y) {
            for (x = 0; x < dims->w; ++x) {
                for (c = 0; c < dims->c; ++c, ++i) {
                    const int32_t from = channels_first ? tg_channels_first_index(dims, n, y, x, c) : i;
                    output[i] = quantize_one(input[from], scale, zero_point);
                }
            }
        }
    }
}
