/* tg_batch_matmul_s8: int8 x int8 -> int8 matrix product with broadcast batch axes and strided operands,
 * plain C99 (TFLite int8 BATCH_MATMUL: one per-tensor requantization of an int32 accumulator).
 * |(lhs + lhs_offset) (rhs + rhs_offset)| <= 255 * 255 per term; the compiler bounds the K-term sum below
 * 2^31 (tg_batch_matmul.h). */
#include "tg_batch_matmul.h"
#include "tg_requant.h"

/* The requantization of one output, its parameters held in locals (tg_batch_matmul_s8 says why). */
typedef struct {
    int32_t multiplier, shift, offset, min, max;
} tg_bmm_requant;

TG_INLINE int8_t tg_bmm_out(int32_t acc, tg_bmm_requant q)
{
    const int32_t out = tg_requantize(acc, q.multiplier, q.shift) + q.offset;
    return (int8_t)TG_CLAMP(out, q.min, q.max);
}

void tg_batch_matmul_s8(const tg_context *ctx, const tg_batch_matmul_params *p, const int8_t *lhs,
                        const int8_t *rhs, int8_t *output)
{
    /* Everything the inner loop reads is copied into locals: the output stores are int8, which may alias
     * the parameter struct, so the compiler would otherwise reload the fields after every store. */
    const tg_dims d = p->output, sa = p->lhs_strides, sb = p->rhs_strides, so = p->output_strides;
    const int32_t depth = p->depth, lhs_offset = p->lhs_offset, rhs_offset = p->rhs_offset;
    const tg_bmm_requant q = {p->output_multiplier, p->output_shift, p->output_offset, p->activation_min,
                              p->activation_max};
    int32_t b0, b1, m, n, k;
    (void)ctx;
    for (b0 = 0; b0 < d.n; ++b0) {
        for (b1 = 0; b1 < d.h; ++b1) {
            const int8_t *a_batch = lhs + b0 * sa.n + b1 * sa.h;
            const int8_t *b_batch = rhs + b0 * sb.n + b1 * sb.h;
            int8_t *o_batch = output + b0 * so.n + b1 * so.h;
            for (m = 0; m < d.w; ++m) {
                const int8_t *a_row = a_batch + m * sa.w;
                int8_t *o_row = o_batch + m * so.w;
                n = 0;
                /* Four output columns at a time share each lhs value (one load and one offset add per four
                 * MACs); each accumulator sums exactly the terms of the one-column loop below. */
                for (; n + 4 <= d.c; n += 4) {
                    const int8_t *a = a_row, *b = b_batch + n * sb.c;
                    const int32_t c1 = sb.c, c2 = 2 * sb.c, c3 = 3 * sb.c;
                    int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
                    for (k = 0; k < depth; ++k) {
                        const int32_t av = *a + lhs_offset;
                        acc0 += av * (b[0] + rhs_offset);
                        acc1 += av * (b[c1] + rhs_offset);
                        acc2 += av * (b[c2] + rhs_offset);
                        acc3 += av * (b[c3] + rhs_offset);
                        a += sa.c;
                        b += sb.w;
                    }
                    o_row[n * so.c] = tg_bmm_out(acc0, q);
                    o_row[(n + 1) * so.c] = tg_bmm_out(acc1, q);
                    o_row[(n + 2) * so.c] = tg_bmm_out(acc2, q);
                    o_row[(n + 3) * so.c] = tg_bmm_out(acc3, q);
                }
                for (; n < d.c; ++n) {
                    const int8_t *a = a_row, *b = b_batch + n * sb.c;
                    int32_t acc = 0;
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
                    o_row[n * so.c] = tg_bmm_out(acc, q);
                }
            }
        }
    }
}
