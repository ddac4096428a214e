/* tinygen kernel library: what the DSP convolution variants share (internal; see
 * src/tg_conv_block_s8.c). Only for cores with the DSP extension. */
#ifndef TG_CONV_DSP_H
#define TG_CONV_DSP_H

#include "tg_conv.h"

/* The kinds of output channel (tg_conv_classify). */
#define TG_CONV_GENERAL 0
#define TG_CONV_SHORT 1
#define TG_CONV_DEAD 2

/* Scratch of a variant: the channel kinds (2 bytes per output channel, rounded up to 4), then the
 * widened taps of 8 pixels (`groups` of 4 taps: 2 words each per pixel); with less scratch, of 4.
 *
 * The block's layout: pixel pairs one after the other (pixel j in pair j / 2), each pair's taps as
 *
 *     group g: [p0 even, p0 odd, p1 even, p1 odd]   (TG_CONV_GROUP_WORDS = 4 words, tg_dsp.h's lanes)
 *
 * so that the 2-channel x 2-pixel assembly (tg_conv_block_s8.c) walks one pair's groups with one
 * pointer that ends where the next pair begins. TG_CONV_SLOT: where pixel j's first group starts. */
#define TG_CONV_KINDS_BYTES(p) ((2 * (p)->output.c + 3) / 4 * 4)
#define TG_CONV_BLOCK_BYTES(groups, pixels) (8 * (groups) * (pixels))
#define TG_CONV_GROUP_WORDS 4
#define TG_CONV_SLOT(block, groups, j) ((block) + ((j) >> 1) * TG_CONV_GROUP_WORDS * (groups) + 2 * ((j)&1))

/* clang-format off */
/* 16 values from %[src] widened (+ %[off]) into 4 groups from %[dst] on, both pointers moved past them:
 * four loads back to back (they pipeline; the last one moves src), each word stored with an immediate
 * offset (1 cycle; the last store moves dst): 23 cycles with the loop's SUBS and BNE. */
#define TG_CONV_WIDEN16                                 \
    "ldr %[r1], [%[src], #4]\n\t"                       \
    "ldr %[r2], [%[src], #8]\n\t"                       \
    "ldr %[r3], [%[src], #12]\n\t"                      \
    "ldr %[r0], [%[src]], #16\n\t"                      \
    "sxtab16 %[w], %[off], %[r0], ror #8\n\t"           \
    "str %[w], [%[dst], #4]\n\t"                        \
    "sxtab16 %[w], %[off], %[r1]\n\t"                   \
    "str %[w], [%[dst], #16]\n\t"                       \
    "sxtab16 %[w], %[off], %[r1], ror #8\n\t"           \
    "str %[w], [%[dst], #20]\n\t"                       \
    "sxtab16 %[w], %[off], %[r2]\n\t"                   \
    "str %[w], [%[dst], #32]\n\t"                       \
    "sxtab16 %[w], %[off], %[r2], ror #8\n\t"           \
    "str %[w], [%[dst], #36]\n\t"                       \
    "sxtab16 %[w], %[off], %[r3]\n\t"                   \
    "str %[w], [%[dst], #48]\n\t"                       \
    "sxtab16 %[w], %[off], %[r3], ror #8\n\t"           \
    "str %[w], [%[dst], #52]\n\t"                       \
    "sxtab16 %[w], %[off], %[r0]\n\t"                   \
    "str %[w], [%[dst]], #64\n\t"

/* `count` values (a multiple of 4) from src widened (+ offset) into the groups from dst on (TG_CONV_GROUP_WORDS
 * apart: a pixel's slot in the block); returns the group after them. 16 values an iteration, then 4 at a
 * time; inline, so that a window's KH runs cost a short loop set-up each, not a call (tg_conv_im2col_s8.c). */
TG_INLINE uint32_t *tg_conv_widen_run(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets)
{
    int32_t blocks = count >> 4, quads = (count >> 2) & 3;
    uint32_t r0, r1, r2, r3, w;
    __asm__ volatile("cmp %[n], #0\n\t"
                     "beq 2f\n\t"
                     "1:\n\t"
                     TG_CONV_WIDEN16
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     "2:\n\t"
                     "cmp %[q], #0\n\t"
                     "beq 4f\n\t"
                     "3:\n\t"
                     "ldr %[r0], [%[src]], #4\n\t"
                     "sxtab16 %[w], %[off], %[r0], ror #8\n\t"
                     "str %[w], [%[dst], #4]\n\t"
                     "sxtab16 %[w], %[off], %[r0]\n\t"
                     "str %[w], [%[dst]], #16\n\t"
                     "subs %[q], %[q], #1\n\t"
                     "bne 3b\n\t"
                     "4:"
                     : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(blocks), [q] "+r"(quads), [r0] "=&r"(r0),
                       [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [w] "=&r"(w)
                     : [off] "r"(offsets)
                     : "cc", "memory");
    return dst;
}
/* clang-format on */

/* Any count (the last group padded with -offset: widened 0), out of line: tg_conv_block_s8.c. */
void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets);
void tg_conv_classify(const tg_conv_params *p, int8_t *kinds);
void tg_conv_block_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t taps, int8_t *out,
                      int32_t valid);
void tg_conv_block_range_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t taps,
                            int8_t *out, int32_t stride, int32_t c_begin, int32_t c_end, int32_t valid);
/* The output stages of the fused variants (src/tg_conv_block_add_s8.c): the block's outputs into `temp`
 * (temp_bytes: all of them, or a few channels at a time), then Added to the residual into out; _exact_s8
 * where tg_add_rows_s8's loop applies (a block's outputs up to TG_CONV_ADD_LOCAL_BYTES on the stack), else
 * tg_conv_block_add_s8. tg_conv_add_stage_of picks the one for f. */
void tg_conv_block_add_s8(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block, int32_t taps,
                          const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp, int32_t temp_bytes);
void tg_conv_block_add_exact_s8(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block, int32_t taps,
                                const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp, int32_t temp_bytes);
/* Bytes of stack tg_conv_block_add_s8 keeps for a block's outputs that its scratch temp holds only in chunks. */
#define TG_CONV_ADD_LOCAL_BYTES 64
typedef void (*tg_conv_add_stage)(const tg_conv_add_params *f, const int8_t *kinds, const uint32_t *block,
                                  int32_t taps, const int8_t *residual, int8_t *out, int32_t valid, int8_t *temp,
                                  int32_t temp_bytes);
tg_conv_add_stage tg_conv_add_stage_of(const tg_conv_add_params *f);
/* The fused variants' Add temp (after the channel kinds) with blocks of `pixels`: a whole block's outputs
 * (pixels * C_out bytes: one pass of the convolution, one call of the Add) when `size` bytes of scratch hold
 * them beside the kinds and `rest` (the block's widened taps, the gather row), else TG_CONV_ADD_TEMP_BYTES (a
 * few channels at a time: the least scratch). (tinygen/ops/conv.py's "rows" variants.) */
TG_INLINE int32_t tg_conv_add_temp_bytes(const tg_conv_params *p, int32_t pixels, int32_t size, int32_t rest)
{
    const int32_t rows = TG_MAX(TG_CONV_ADD_TEMP_BYTES, pixels * p->output.c);
    return size >= TG_CONV_KINDS_BYTES(p) + rows + rest ? rows : TG_CONV_ADD_TEMP_BYTES;
}
/* The drivers of tg_conv_1x1_s8 / tg_conv_im2col_s8, fused (f, residual, stage) or not (all NULL); 0:
 * the variant does not take the layer (the caller falls back to the plain kernel). */
int32_t tg_conv_1x1_run(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output,
                        const tg_conv_add_params *f, const int8_t *residual, tg_conv_add_stage stage);
int32_t tg_conv_im2col_run(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output,
                           const tg_conv_add_params *f, const int8_t *residual, tg_conv_add_stage stage);

#endif /* TG_CONV_DSP_H */
