/* tg_pad_s8: constant padding, plain C99: fill the output, then copy the input rows in. */
#include <string.h>

#include "tg_pad.h"

void tg_pad_s8(const tg_context *ctx, const tg_pad_params *p, const int8_t *input, int8_t *output)
{
    const tg_dims *in = &p->input, *out = &p->output, *b = &p->before;
    int32_t n, y, x;
    (void)ctx;
    memset(output, (int8_t)p->pad_value, (size_t)(out->n * out->h * out->w * out->c));
    for (n = 0; n < in->n; ++n) {
        for (y = 0; y < in->h; ++y) {
            for (x = 0; x < in->w; ++x) {
                const int32_t to = (((n + b->n) * out->h + (y + b->h)) * out->w + (x + b->w)) * out->c + b->c;
                memcpy(output + to, input + ((n * in->h + y) * in->w + x) * in->c, (size_t)in->c);
            }
        }
    }
}
