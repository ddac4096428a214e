/* tg_quantize_f32: float input -> int8 tensor, the float boundary of the generated model API.
 * Mirrored bit for bit by tinygen.arith.quantize_float. */
#include "tg_quantize.h"

#include "internal/tg_channels_first.h"

static int8_t quantize_one(float x, float scale, int32_t zero_point)
{
    float v = x / scale;
    int32_t q;
    float whole;
    float fraction;
    if (!(v == v)) { /* NaN */
        v = 0.0f;
    }
    /* Clamp before converting to an integer: converting an out-of-range float is undefined. */
    v = v < -1e6f ? -1e6f : (v > 1e6f ? 1e6f : v);
    q = (int32_t)v; /* truncates toward zero */
    whole = (float)q;
    fraction = v - whole; /* exact: both are floats within one unit of each other */
    if (fraction >= 0.5f) {
        q += 1;
    } else if (fraction <= -0.5f) {
        q -= 1;
    }
    q += zero_point;
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

void tg_quantize_f32(const float *input, int8_t *output, const tg_dims *dims, int32_t channels_first,
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
