/* tg_conv_1x1_few_s8: 1x1 convolution (no padding, groups 1, any stride) with 4 or 8 input channels
 * (VWW's 8 -> 16 at 48 x 48). Must equal tg_conv_s8 (its fallback on cores without the DSP
 * extension and for layers it does not take).
 *
 * With 8 taps per output the block kernel (tg_conv_1x1_s8) spends most of its time outside the
 * multiplies: per pixel pair the requantization, stores and reloads (~57 cycles for 4 outputs of 4
 * SMLAD each) and per channel pair and block its set-up. Here each input pixel is widened once, into
 * registers (C_in / 2 words: one load and two SXTAB16 per 4 channels, with the input offset), and reused
 * for every output channel; per channel pair the two biases and C_in weight words (int16 pairs packed by
 * the compiler, tinygen/ops/conv.py few_channels_packed over the channels permuted 0 2 1 3 in each group
 * of 4, so a weight word pairs with the SXTAB16 "even" / "odd" word) are read back to back, C_in SMLAD
 * accumulate, and the short requantization (SMMLAR, tg_dsp.h) with its three constants read from the
 * same packed row writes two bytes. Nothing is kept per layer, so there is no scratch of its own and no
 * set-up: about 8 cycles per output for C_in = 8 in the estimate (loads 1 per word, SMLAD 1, the
 * requantization 5 and the store 1), and C_in / 2 more for every 4 input channels more.
 *
 * Only `fast` layers (tg_conv_few_channels_params: every channel takes the short requantization, the
 * clamp is the whole int8 range; dead channels then output their constant through the same arithmetic)
 * run here; the compiler lists the kernel for those only, and anything else falls back to tg_conv_s8.
 *
 * In-place contract: output pixels in raster order, each input pixel read (into registers) before any
 * output of its pixel is written (blocks of 1 pixel in tg_conv.h's terms, as tg_conv_s8). */
#include "tg_conv.h"
#include "internal/tg_dsp.h"

/* tg_conv_s8's scratch (in place: one output pixel); this kernel needs none. */
int32_t tg_conv_1x1_few_s8_get_buffer_size(const tg_conv_few_channels_params *params)
{
    return tg_conv_s8_get_buffer_size(&params->conv);
}

#if defined(__ARM_FEATURE_DSP)
static int32_t tg_1x1_few_applies(const tg_conv_few_channels_params *params)
{
    const tg_conv_params *p = &params->conv;
    return params->fast && params->packed != NULL && p->filter.h == 1 && p->filter.w == 1 && p->groups == 1 &&
           p->padding.top == 0 && p->padding.left == 0 && p->padding.bottom == 0 && p->padding.right == 0 &&
           (p->input.c == 4 || p->input.c == 8);
}

/* The short requantization of 2 acc (the packed weights and biases are doubled, so the SMLADs accumulate
 * 2 acc itself: |2 acc| < 2^30 as |acc| < 2^29, fast) with q = M, rounding term, e, saturated: tg_dsp_short. */
TG_INLINE int8_t tg_1x1_few_out(int32_t twice, const int32_t *q)
{
    const tg_dsp_short_t *s = (const tg_dsp_short_t *)(const void *)q;
    return (int8_t)tg_ssat8(tg_dsp_short(twice, s));
}

/* acc += the two products of a widened pixel word and a weight word: one LDR (pipelined) and one SMLAD per 2 MACs. */
#define TG_1X1_FEW_STEP(acc, x, w) (acc) = tg_smlad((x), (uint32_t)(w), (acc))

/* C_in = 8: the channel pairs [k, end) (at least one) of one widened pixel x0 .. x3, their outputs stored from
 * `out` on; returns the output pointer after them. One assembly loop, as the compiler interleaves each LDR
 * with its SMLAD (2 cycles a load) instead of forming LDMs: a pair's 16 packed words in 5 LDMs (21 cycles),
 * 8 SMLAD, 2 x 5 of requantization and store, about 45 estimated cycles per 2 outputs. Registers fixed for
 * the LDM lists (ascending): r0-r4 the accumulators and loaded words, r5 k, r6 out, r12 end, r8-r11 x0 .. x3;
 * never r7. */
TG_INLINE int8_t *tg_1x1_few_pairs8(const int32_t *k, const int32_t *end, int8_t *out, uint32_t x0, uint32_t x1,
                                    uint32_t x2, uint32_t x3)
{
    register const int32_t *rk __asm__("r5") = k;
    register int8_t *ro __asm__("r6") = out;
    register const int32_t *re __asm__("r12") = end;
    register uint32_t r8 __asm__("r8") = x0;
    register uint32_t r9 __asm__("r9") = x1;
    register uint32_t r10 __asm__("r10") = x2;
    register uint32_t r11 __asm__("r11") = x3;
    register int32_t r0 __asm__("r0");
    register int32_t r1 __asm__("r1");
    register int32_t r2 __asm__("r2");
    register int32_t r3 __asm__("r3");
    register int32_t r4 __asm__("r4");
    /* clang-format off */
    __asm__ volatile(
        "1:\n\t"
        "ldm %[k]!, {r0, r1, r2, r3, r4}\n\t" /* b0 b1 (doubled), c0 s0, c1 s0, c0 s1 */
        "smlad r0, %[x0], r2, r0\n\t"
        "smlad r1, %[x0], r3, r1\n\t"
        "smlad r0, %[x1], r4, r0\n\t"
        "ldm %[k]!, {r2, r3, r4}\n\t" /* c1 s1, c0 s2, c1 s2 */
        "smlad r1, %[x1], r2, r1\n\t"
        "smlad r0, %[x2], r3, r0\n\t"
        "smlad r1, %[x2], r4, r1\n\t"
        "ldm %[k]!, {r2, r3, r4}\n\t" /* c0 s3, c1 s3, M0 */
        "smlad r0, %[x3], r2, r0\n\t"
        "smlad r1, %[x3], r3, r1\n\t"
        "ldm %[k]!, {r2, r3}\n\t" /* rounding term 0 (with the output offset), e0 */
        "add r2, r2, r0, asr #31\n\t" /* - [acc < 0] (tg_dsp_short) */
        "smmlar r0, r0, r4, r2\n\t"
        "asr r0, r0, r3\n\t"
        "ssat r0, #8, r0\n\t"
        "strb r0, [%[o]], #1\n\t"
        "ldm %[k]!, {r2, r3, r4}\n\t" /* M1, rounding term 1, e1 */
        "add r3, r3, r1, asr #31\n\t"
        "smmlar r1, r1, r2, r3\n\t"
        "asr r1, r1, r4\n\t"
        "ssat r1, #8, r1\n\t"
        "strb r1, [%[o]], #1\n\t"
        "cmp %[k], %[e]\n\t"
        "bne 1b"
        : [k] "+r"(rk), [o] "+r"(ro), "=&r"(r0), "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4)
        : [e] "r"(re), [x0] "r"(r8), [x1] "r"(r9), [x2] "r"(r10), [x3] "r"(r11)
        : "cc", "memory");
    /* clang-format on */
    return ro;
}

/* One layer with `groups` groups of 4 input channels (a constant at each call: the ifs fold away and the
 * widened pixel stays in registers): x0 = channels 0, 2 and x1 = 1, 3 (+ input offset), x2, x3 the next 4
 * and so on, matching the packed weight words 2g and 2g + 1 of each channel. */
TG_INLINE void tg_1x1_few_run(const tg_conv_few_channels_params *params, const int8_t *input, int8_t *output,
                              const int32_t groups)
{
    const tg_conv_params *p = &params->conv;
    const int32_t out_c = p->output.c, out_w = p->output.w, out_h = p->output.h;
    /* per channel pair: 2 biases, 2 S weight words (S = C_in / 2 rounded up to 4), 6 requantization words */
    const int32_t row = 2 * ((2 * groups + 3) / 4 * 4) + 8;
    const int32_t next_pixel = p->stride.w * p->input.c;
    const int32_t next_row = p->stride.h * p->input.w * p->input.c;
    const uint32_t offsets = tg_pair(p->input_offset);
    const int32_t *const pairs_end = params->packed + out_c / 2 * row;
    int32_t oy, ox;
    for (oy = 0; oy < out_h; ++oy) {
        const int8_t *in = input + oy * next_row;
        for (ox = 0; ox < out_w; ++ox, in += next_pixel) {
            uint32_t x0, x1, x2 = 0, x3 = 0, v;
            const int32_t *k;
            v = tg_read_u32(in);
            x0 = tg_sxtab16(offsets, v);
            x1 = tg_sxtab16_ror8(offsets, v);
            if (groups > 1) {
                v = tg_read_u32(in + 4);
                x2 = tg_sxtab16(offsets, v);
                x3 = tg_sxtab16_ror8(offsets, v);
            }
            k = params->packed;
            if (groups == 2 && k != pairs_end) {
                output = tg_1x1_few_pairs8(k, pairs_end, output, x0, x1, x2, x3);
                k = pairs_end;
            }
            for (; k != pairs_end; k += row) {
                int32_t a0 = k[0], a1 = k[1];
                TG_1X1_FEW_STEP(a0, x0, k[2]);
                TG_1X1_FEW_STEP(a1, x0, k[3]);
                TG_1X1_FEW_STEP(a0, x1, k[4]);
                TG_1X1_FEW_STEP(a1, x1, k[5]);
                if (groups > 1) {
                    TG_1X1_FEW_STEP(a0, x2, k[6]);
                    TG_1X1_FEW_STEP(a1, x2, k[7]);
                    TG_1X1_FEW_STEP(a0, x3, k[8]);
                    TG_1X1_FEW_STEP(a1, x3, k[9]);
                }
                output[0] = tg_1x1_few_out(a0, k + row - 6);
                output[1] = tg_1x1_few_out(a1, k + row - 3);
                output += 2;
            }
            if (out_c % 2 != 0) { /* the last channel, paired with a zero channel in `packed` */
                int32_t a0 = k[0];
                TG_1X1_FEW_STEP(a0, x0, k[2]);
                TG_1X1_FEW_STEP(a0, x1, k[4]);
                if (groups > 1) {
                    TG_1X1_FEW_STEP(a0, x2, k[6]);
                    TG_1X1_FEW_STEP(a0, x3, k[8]);
                }
                *output++ = tg_1x1_few_out(a0, k + row - 6);
            }
        }
    }
}
#endif

void tg_conv_1x1_few_s8(const tg_context *ctx, const tg_conv_few_channels_params *params, const int8_t *input,
                        int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_1x1_few_applies(params)) {
        if (params->conv.input.c == 4) {
            tg_1x1_few_run(params, input, output, 1);
        } else {
            tg_1x1_few_run(params, input, output, 2);
        }
        return;
    }
#endif
    tg_conv_s8(ctx, &params->conv, input, output);
}
