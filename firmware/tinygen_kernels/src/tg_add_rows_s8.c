/* tg_add_rows_s8: the residual Add of the fused DSP convolutions (tg_conv_block_add_s8.c) over rows of a
 * block, bit-exact with tg_add_element (TFLite's int8 ADD) in about 14 instructions per element.
 *
 * TFLite gives the input of the larger scale s the multiplier s / (2 s) = 1/2 exactly: (2^30, shift 0).
 * Its rescale of (x + offset) << 20 is then SRDHM(v, 2^30) = round(v / 2) = v / 2 (v is even): the exact
 * shift (x + offset) << 19, no multiply. Doubled (the short form takes 2x), (x + offset) << 20: one ADD
 * with a shifted operand. The other input's rescale and the output's requantization take tg_dsp.h's short
 * form (SMMLAR with the rounding, the sign correction and the output offset in its accumulate operand):
 *
 *     |(x + offset) << 20| <= 255 * 2^20 < 2^28, so its doubled value is below 2^29 < 2^30;
 *     the rescaled other input is below 2^28 too (multiplier < 1/2), so the sum is below 2^29 and its
 *     doubled value below 2^30: both inside the short form's bound (tg_dsp.h), for shifts -1 .. -23.
 *
 * Per element: 2 LDRSB, ADD (x << 21 + offset), ADD (sign correction), SMMLAR, ASR, ADD (x << 20 +
 * offset), ADD (+ 2 rescaled), ADD (sign correction), SMMLAR, ASR, SSAT, STRB: 13 instructions beside
 * the loop, against about 30 for tg_add_short_element (three requantizations and a general sign). The
 * loop applies when the Add is not a subtraction, one input has (2^30, 0), the other's shift and the
 * output's are in -1 .. -23 (the short form with its sign correction): what TFLite derives for inputs
 * of different scales (IC's three residual Adds). Else the caller keeps its general paths. Portable C
 * (SMMLAR and SSAT emulated where the core has no DSP extension), called by the DSP variants. */
#include "tg_elementwise.h"
#include "internal/tg_add_rows.h"
#include "internal/tg_dsp.h"

int32_t tg_add_rows_applies(const tg_add_params *p)
{
    const int32_t exact1 = p->input1_multiplier == (1 << 30) && p->input1_shift == 0;
    const int32_t exact2 = p->input2_multiplier == (1 << 30) && p->input2_shift == 0;
    const int32_t s_shift = exact1 ? p->input2_shift : p->input1_shift; /* the other input's */
    return p->left_shift == 20 && !p->subtract && (exact1 || exact2) && tg_dsp_short_applies(28, s_shift) &&
           tg_dsp_short_applies(29, p->output_shift);
}

void tg_add_rows_prepare(tg_add_rows_t *r, const tg_add_params *p)
{
    const int32_t exact1 = p->input1_multiplier == (1 << 30) && p->input1_shift == 0;
    const int32_t swap = !exact1;
    const int32_t s_multiplier = swap ? p->input1_multiplier : p->input2_multiplier;
    const int32_t s_shift = swap ? p->input1_shift : p->input2_shift;
    tg_dsp_short_t q;
    r->exact = tg_add_rows_applies(p);
    r->swap = swap;
    r->full = p->activation_min <= -128 && p->activation_max >= 127;
    r->act_min = p->activation_min;
    r->act_max = p->activation_max;
    r->table = r->exact ? p->rescaled : NULL;
    if (!r->exact) {
        return;
    }
    r->offset_l = (int32_t)((uint32_t)(swap ? p->input2_offset : p->input1_offset) << 20);
    r->offset_s = (int32_t)((uint32_t)(swap ? p->input1_offset : p->input2_offset) << 21);
    tg_dsp_short_prepare(&q, s_multiplier, s_shift, 0);
    r->m_s = q.multiplier;
    r->round_s = q.round;
    r->e_s = q.shift;
    tg_dsp_short_prepare(&q, p->output_multiplier, p->output_shift, p->output_offset);
    r->m_o = q.multiplier;
    r->round_o = q.round;
    r->e_o = q.shift;
}

/* SMMLAR(a, m, acc): floor((a m + acc 2^32 + 2^31) / 2^32) (tg_dsp.h's short form); in portable C on
 * cores without it (the host checks the loop's arithmetic so: tests/dsp/test_dsp_host.py). */
#if defined(__ARM_FEATURE_DSP)
TG_INLINE int32_t tg_add_rows_smmlar(int32_t a, int32_t m, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3"
            : "=r"(r)
            : "r"(a), "r"(m), "r"(acc));
    return r;
}
#define TG_ADD_ROWS_SAT8(x) tg_ssat8(x)
#else
TG_INLINE int32_t tg_add_rows_smmlar(int32_t a, int32_t m, int32_t acc)
{
    const int64_t v = (int64_t)a * m + (int64_t)((uint64_t)(int64_t)acc << 32) + ((int64_t)1 << 31);
    return (int32_t)(v >> 32);
}
#define TG_ADD_ROWS_SAT8(x) TG_CLAMP((x), -128, 127)
#endif

/* One row of n outputs; `full`: a compile-time constant after inlining (SSAT alone, or the clamp too). */
TG_INLINE void tg_add_rows_run(const tg_add_rows_t *r, const int8_t *l, const int8_t *s, int8_t *out, int32_t n,
                               int32_t full)
{
    const int32_t offset_l = r->offset_l, offset_s = r->offset_s;
    const int32_t m_s = r->m_s, round_s = r->round_s, e_s = r->e_s;
    const int32_t m_o = r->m_o, round_o = r->round_o, e_o = r->e_o;
    int32_t c;
    for (c = 0; c < n; ++c) {
        const int32_t ts = offset_s + (int32_t)((uint32_t)s[c] << 21);
        const int32_t scaled = tg_add_rows_smmlar(ts, m_s, round_s + (ts >> 31)) >> e_s;
        const int32_t twice = offset_l + (int32_t)((uint32_t)l[c] << 20) + (int32_t)((uint32_t)scaled << 1);
        const int32_t v = TG_ADD_ROWS_SAT8(tg_add_rows_smmlar(twice, m_o, round_o + (twice >> 31)) >> e_o);
        out[c] = (int8_t)(full ? v : TG_CLAMP(v, r->act_min, r->act_max));
    }
}

/* The same with the compiler's table of the rescaled input (tg_add_params.rescaled): its ADD, SMMLAR, ASR and
 * sign correction become one load indexed by the byte, 3 cycles less per element. */
TG_INLINE void tg_add_rows_table(const tg_add_rows_t *r, const int8_t *l, const uint8_t *s, int8_t *out, int32_t n,
                                 int32_t full)
{
    const int32_t *table = r->table;
    const int32_t m_o = r->m_o, round_o = r->round_o, e_o = r->e_o;
    int32_t c;
    for (c = 0; c < n; ++c) {
        const int32_t twice = table[s[c]] + (int32_t)((uint32_t)l[c] << 20);
        const int32_t v = TG_ADD_ROWS_SAT8(tg_add_rows_smmlar(twice, m_o, round_o + (twice >> 31)) >> e_o);
        out[c] = (int8_t)(full ? v : TG_CLAMP(v, r->act_min, r->act_max));
    }
}

void tg_add_rows_s8(const tg_add_rows_t *r, const int8_t *in1, int32_t stride1, const int8_t *in2, int32_t stride2,
                    int8_t *out, int32_t out_stride, int32_t rows, int32_t n)
{
    const int8_t *l = r->swap ? in2 : in1, *s = r->swap ? in1 : in2;
    const int32_t step_l = r->swap ? stride2 : stride1, step_s = r->swap ? stride1 : stride2;
    int32_t i;
    for (i = 0; i < rows; ++i, l += step_l, s += step_s, out += out_stride) {
        if (r->table != NULL) {
            if (r->full) {
                tg_add_rows_table(r, l, (const uint8_t *)s, out, n, 1);
            } else {
                tg_add_rows_table(r, l, (const uint8_t *)s, out, n, 0);
            }
        } else if (r->full) {
            tg_add_rows_run(r, l, s, out, n, 1);
        } else {
            tg_add_rows_run(r, l, s, out, n, 0);
        }
    }
}
