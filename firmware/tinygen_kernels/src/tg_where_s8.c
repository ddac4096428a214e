/* tg_where_s8: select by a constant condition, requantizing as needed, plain C99. */
#include "tg_requant.h"
#include "tg_where.h"

static int8_t tg_where_take(int8_t x, int32_t requant, int32_t offset, int32_t multiplier, int32_t shift,
                            int32_t output_offset)
{
    int32_t value;
    if (!requant) {
        return x;
    }
    value = tg_requantize(x + offset, multiplier, shift) + output_offset;
    return (int8_t)TG_CLAMP(value, -128, 127);
}

void tg_where_s8(const tg_context *ctx, const tg_where_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    int32_t i;
    (void)ctx;
    for (i = 0; i < p->size; ++i) {
        output[i] = p->condition[i] ? tg_where_take(a[i], p->a_requant, p->a_offset, p->a_multiplier, p->a_shift,
                                                    p->output_offset)
                                    : tg_where_take(b[i], p->b_requant, p->b_offset, p->b_multiplier, p->b_shift,
                                                    p->output_offset);
    }
}
