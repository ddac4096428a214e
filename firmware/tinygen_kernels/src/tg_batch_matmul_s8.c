/* tg_batch_matmul_s8: int8 x int8 -> int8 matrix product with broadcast batch axes and strided operands,
 * plain C99 (TFLite int8 BATCH_MATMUL: one per-tensor requantization of an int32 accumulator).
 * |(lhs + lhs_offset) (rhs + rhs_offset)| <= 255 * 255 per term; the compiler bounds the K-term sum below
 * 2^31 (tg_batch_matmul.h). */
#include "tg_batch_matmul.h"
#include "tg_requant.h"

void tg_batch_matmul_s8(const tg_context *ctx, const tg_batch_matmul_params *p, const int8_t *lhs,
                        const int8_t *rhs, int8_t *output)
{
    /* Everything the inner loop reads is copied into locals: the output stores are int8, which may alias
     * the parameter struct, so the compiler would otherwise reload the fields after every store. */
    const tg_dims d = p->output, sa = p->lhs_strides, sb = p->rhs_strides, so = p->output_strides;
    const int32_t depth = p->depth, lhs_offset = p->lhs_offset, rhs_offset = p->rhs_offset;
    const int32_t multiplier = p->output_multiplier, shift = p->output_shift, output_offset = p->output_offset;
    const int32_t act_min = p->activation_min, act_max = p->activation_max;
    int32_t b0, b1, m, n, k;
    (void)ctx;
    for (b0 = 0; b0 < d.n; ++b0) {
        for (b1 = 0; b1 < d.h; ++b1) {
            const int8_t *a_batch = lhs + b0 * sa.n + b1 * sa.h;
            const int8_t *b_batch = rhs + b0 * sb.n + b1 * sb.h;
            int8_t *o_batch = output + b0 * so.n + b1 * so.h;
            for (m = 0; m < d.w; ++m) {
                const int8_t *a_row = a_batch + m * sa.w;
                for (n = 0; n < d.c; ++n) {
                    const int8_t *a = a_row, *b = b_batch + n * sb.c;
                    int32_t acc = 0, out;
                    if (sa.c == 1 && sb.w == 1) { /* both read along contiguous memory (Q K^T with K as stored) */
                        for (k = 0; k < depth; ++k) {
                            acc += (a[k] + lhs_offset) * (b[k] + rhs_offset);
                        }
                    } else {
                        for (k = 0; k < depth; ++k) {
                            acc += (*a + lhs_offset) * (*b + rhs_offset);
                            a += sa.c;
                            b += sb.w;
                        }
                    }
                    out = tg_requantize(acc, multiplier, shift) + output_offset;
                    o_batch[m * so.w + n * so.c] = (int8_t)TG_CLAMP(out, act_min, act_max);
                }
            }
        }
    }
}
