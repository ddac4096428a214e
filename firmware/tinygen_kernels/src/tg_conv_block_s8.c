/* tg_conv_block_s8: the output stage shared by the DSP convolution variants (tg_conv_1x1_s8,
 * tg_conv_im2col_s8): every output channel of a block of up to 8 output pixels whose input taps have
 * been widened into `block` (tg_conv_dsp.h layout: per pixel pair, ceil(taps / 4) groups of 4 words), two
 * channels by two pixels at a time in assembly (weights widened once per pair of pixels and channels,
 * the requantization constants loaded once per 4 outputs). Bit-exact with tg_conv_s8's arithmetic: acc = bias + sum w * (x + input_offset) in int32, then tg_requantize, the
 * output offset, the clamp. */
#include <stddef.h>

#include "tg_conv.h"
#include "internal/tg_dsp.h"

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_conv_dsp.h"

/* clang-format off */
/* tg_dsp_widen for the convolution variants, out of line (flash): the widening of one pixel's taps into its
 * slot of the block (4 words per group: tg_conv_dsp.h), 16 values an iteration (TG_CONV_WIDEN16), the rest
 * by tg_dsp_widen. (The im2col fill inlines tg_conv_widen_run instead: its runs are whole groups.) */
void tg_conv_widen(uint32_t *dst, const int8_t *src, int32_t count, uint32_t offsets)
{
    int32_t blocks = count >> 4;
    if (blocks > 0) {
        uint32_t r0, r1, r2, r3, w;
        __asm__ volatile("1:\n\t"
                         TG_CONV_WIDEN16
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(blocks), [r0] "=&r"(r0), [r1] "=&r"(r1),
                           [r2] "=&r"(r2), [r3] "=&r"(r3), [w] "=&r"(w)
                         : [off] "r"(offsets)
                         : "cc", "memory");
    }
    if ((count & 15) != 0) {
        tg_dsp_widen(dst, TG_CONV_GROUP_WORDS, src, count & 15, offsets);
    }
}
/* clang-format on */

/* What tg_conv_pairs reads and advances, at the byte offsets of its assembly (checked below): the
 * channel pairs of a run (rows next_row bytes apart) over the pixel pairs of a block. */
typedef struct {
    const uint32_t *block;     /*  0: the start of the pixel pairs' widened taps */
    const uint32_t *end;       /*  4: their end */
    int8_t *out;               /*  8: (pixel 0, channel c) */
    int32_t stride;            /* 12: bytes between output pixels */
    const int8_t *w;           /* 16: channel c's row */
    int32_t next_row;          /* 20: bytes from c's row to c + 1's (0: c twice) */
    int32_t groups;            /* 24: ceil(taps / 4) */
    const int32_t *bias;       /* 28: of c; advanced by 2 channels per channel pair */
    const int32_t *multiplier; /* 32: the same */
    const int8_t *shift;       /* 36 */
    int32_t step;              /* 40: bytes between the multipliers of two channels (4, or 0 per tensor) */
    int32_t round_base;        /* 44: 2 output_offset + 1 (round = round_base << (shift - 1)) */
    int32_t pairs;             /* 48: channel pairs */
    const int32_t *packed;     /* 52: c's pair in tg_conv_params.pair_constants' layout, advanced by a
                                      pair per channel pair; NULL: the assembly derives them */
} tg_conv_pair_frame;

typedef char tg_conv_pair_frame_layout[(offsetof(tg_conv_pair_frame, w) == 16 &&
                                        offsetof(tg_conv_pair_frame, bias) == 28 &&
                                        offsetof(tg_conv_pair_frame, pairs) == 48 &&
                                        offsetof(tg_conv_pair_frame, packed) == 52)
                                           ? 1
                                           : -1];

/* clang-format off */
/* One group of 4 taps, 2 channels x 2 pixels (r11 runs through [p0 even, p0 odd, p1 even, p1 odd]): the two
 * weight words and the four activation words as six loads back to back (all but the first pipeline: 7
 * cycles), 4 SXTB16, 8 SMLAD: 19 cycles for 16 MACs. Every instruction is 32 bits wide (the loop is
 * entered in the middle: tg_conv_pairs). Accumulators r0 (c, p0), r1 (c, p1), r2 (c + 1, p0), r3 (c + 1,
 * p1); r10 the weights of c, r12 the offset of c + 1's row. */
#define TG_PAIR_GROUP                                                                                    \
    "ldr.w r4, [r10, r12]\n\t"                                                                           \
    "ldr.w lr, [r10], #4\n\t"                                                                            \
    "ldr.w r8, [r11], #4\n\t"                                                                            \
    "ldr.w r9, [r11], #4\n\t"                                                                            \
    "ldr.w r6, [r11], #4\n\t"                                                                            \
    "ldr.w r7, [r11], #4\n\t"                                                                            \
    "sxtb16 r5, lr\n\t"                                                                                  \
    "smlad r0, r5, r8, r0\n\t"                                                                           \
    "smlad r1, r5, r6, r1\n\t"                                                                           \
    "sxtb16 lr, lr, ror #8\n\t"                                                                          \
    "smlad r0, lr, r9, r0\n\t"                                                                           \
    "smlad r1, lr, r7, r1\n\t"                                                                           \
    "sxtb16 r5, r4\n\t"                                                                                  \
    "smlad r2, r5, r8, r2\n\t"                                                                           \
    "smlad r3, r5, r6, r3\n\t"                                                                           \
    "sxtb16 r4, r4, ror #8\n\t"                                                                          \
    "smlad r2, r4, r9, r2\n\t"                                                                           \
    "smlad r3, r4, r7, r3\n\t"

/* The short requantization of accumulator a with (m, round, e) (tg_dsp_short): 5 cycles; 4 when a is
 * already doubled (the pre-widened weights are stored doubled and the bias is doubled once per pair:
 * |acc| < 2^29, so 2 acc fits, and the int32 sums wrap to exactly that). */
#define TG_PAIR_REQUANT_DOUBLED(a, m, round, e)                                                          \
    "add lr, " round ", " a ", asr #31\n\t"                                                              \
    "smmlar " a ", " a ", " m ", lr\n\t"                                                                 \
    "asr " a ", " a ", " e "\n\t"                                                                        \
    "ssat " a ", #8, " a "\n\t"
#define TG_PAIR_REQUANT(a, m, round, e) "lsl " a ", " a ", #1\n\t" TG_PAIR_REQUANT_DOUBLED(a, m, round, e)

/* frame->pairs channel pairs of every pixel pair of the block, all in assembly (every register but sp
 * is needed: naked, so r7 is free too). Its own stack frame S (sp after the push and the sub):
 *
 *     S+0  bias c, bias c, bias c+1, bias c+1, w, entry   (one LDM per pixel pair sets up and enters the loop)
 *     S+24 M c, round c, e c, M c+1, round c+1, e c+1, bias c, bias c+1   (derived constants: see Q)
 *     S+56 out (this pixel pair), stride, end of the block's taps, end of the row (w + 4 groups)
 *     S+72 the C frame, out (pixel 0, this channel pair), a row's bytes, Q, channel pairs left,
 *     S+92 the next channel pair's packed constants (or 0), the block
 *
 * Q is where the channel pair's constants are, 8 words in tg_conv_params.pair_constants' order: there
 * (frame->packed, compiler-made, one pair after the other) or, without them, S+24, where the assembly
 * derives them (label 2: the biases, multipliers and shifts read, the rounds 2^(e-1) + output offset
 * 2^e computed, tg_dsp_short_prepare: about 40 cycles). With them a channel pair's set-up is its two
 * biases copied (about 25 cycles with the row end and the output pointer); the requantization reads
 * them through Q (LDR + LDM: 2 cycles more per pixel pair than an LDM of a copy on the stack).
 *
 * Per call: the loop's entry (Duff's device: groups % 16 of the 16 unrolled groups run first, so the loop is
 * entered that many groups before its end; the activations are post-incremented loads, so no offset
 * depends on where it was entered). Per pixel pair (label 1): LDM {r0-r3, r10, pc} enters the loop,
 * 16 groups per iteration (the row end compared in memory, no counter register: 6 cycles per iteration,
 * 4 the last; 16 groups rather than 8 save 1.5 % of a 64-tap pixel pair for 580 bytes of code per
 * variant), then the 4 outputs requantized and stored as two byte pairs: about 57 cycles beside the
 * groups. The pixel pairs' taps follow each other, so r11 runs through them. */
/* The body of tg_conv_pairs and tg_conv_pairs_wide: ROW_BYTES sets r2 = a row's bytes per call from r1 =
 * groups (S+80: where a row ends; for the widened weights also the distance to the next pair's), GROUP the
 * group of 4 taps (every instruction 32 bits wide: the Duff entry counts bytes), NEXT_PAIR advances r0 =
 * the weights by one channel pair (r1 = a row's bytes), BIAS the biases r1, r2 (doubled for the widened
 * weights). */
    #define TG_PAIRS_ASM(ROW_BYTES, GROUP, NEXT_PAIR, BIAS, REQUANT)                \
    "push {r4-r11, lr}\n\t"                                                         \
    "sub sp, sp, #100\n\t"        /* (with the push: 136 bytes, sp stays 8-aligned) */ \
    "str r0, [sp, #72]\n\t"                                                         \
    "ldr r12, [r0, #20]\n\t"      /* row offset, for the whole call */              \
    "ldr r1, [r0, #24]\n\t"       /* groups */                                      \
    "ldr r2, [r0, #16]\n\t"                                                         \
    "str r2, [sp, #16]\n\t"       /* w */                                           \
    "ldr r2, [r0, #8]\n\t"                                                          \
    "str r2, [sp, #76]\n\t"       /* out of the first channel pair */               \
    "ldr r2, [r0, #12]\n\t"                                                         \
    "str r2, [sp, #60]\n\t"       /* stride */                                      \
    "ldr r2, [r0, #4]\n\t"                                                          \
    "str r2, [sp, #64]\n\t"       /* end */                                         \
    "ldr r2, [r0, #48]\n\t"                                                         \
    "str r2, [sp, #88]\n\t"       /* channel pairs */                               \
    "ldr r2, [r0, #52]\n\t"                                                         \
    "str r2, [sp, #92]\n\t"       /* packed constants, or 0 */                      \
    "ldr r2, [r0]\n\t"                                                              \
    "str r2, [sp, #96]\n\t"       /* block */                                       \
    ROW_BYTES                                                                       \
    "str r2, [sp, #80]\n\t"       /* 4 groups: the row end's distance */            \
    "ldr r3, [r0, #16]\n\t"                                                         \
    "add r3, r3, r2\n\t"                                                            \
    "str r3, [sp, #68]\n\t"       /* the first row's end */                         \
    "and r1, r1, #15\n\t"                                                           \
    "rsb r1, r1, #16\n\t"                                                           \
    "and r1, r1, #15\n\t"         /* groups skipped in the first iteration */       \
    "adr.w r2, 40f\n\t"                                                             \
    "adr.w r3, 41f\n\t"                                                             \
    "sub r3, r3, r2\n\t"          /* bytes per group */                             \
    "mla r2, r1, r3, r2\n\t"                                                        \
    "orr r2, r2, #1\n\t"          /* (Thumb) */                                     \
    "str r2, [sp, #20]\n\t"                                                         \
    /* per channel pair: Q and the biases r1, r2 */                                 \
    "0:\n\t"                                                                        \
    "ldr r0, [sp, #92]\n\t"       /* packed constants, or 0 */                      \
    "ldr r4, [sp, #76]\n\t"       /* (pipelined) */                                 \
    "ldr r11, [sp, #96]\n\t"      /* block (the derived path reloads it) */         \
    "str r4, [sp, #56]\n\t"       /* out */                                         \
    "add r4, r4, #2\n\t"                                                            \
    "str r4, [sp, #76]\n\t"                                                         \
    "cmp r0, #0\n\t"                                                                \
    "beq 2f\n\t"                                                                    \
    "ldr r1, [r0, #24]\n\t"       /* bias c */                                      \
    "ldr r2, [r0, #28]\n\t"       /* bias c + 1 */                                  \
    "str r0, [sp, #84]\n\t"       /* Q */                                           \
    "add r0, r0, #32\n\t"                                                           \
    "str r0, [sp, #92]\n\t"       /* the next pair's */                             \
    "3:\n\t"                                                                        \
    BIAS                                                                            \
    "str r1, [sp]\n\t"                                                              \
    "str r1, [sp, #4]\n\t"                                                          \
    "str r2, [sp, #8]\n\t"                                                          \
    "str r2, [sp, #12]\n\t"                                                         \
    /* per pixel pair */                                                            \
    "1:\n\t"                                                                        \
    "ldm sp, {r0-r3, r10, pc}\n\t"                                                  \
    "40:\n\t"                                                                       \
    GROUP                                                                           \
    "41:\n\t"                                                                       \
    GROUP GROUP GROUP GROUP GROUP GROUP GROUP GROUP                                 \
    GROUP GROUP GROUP GROUP GROUP GROUP GROUP                                       \
    "ldr r4, [sp, #68]\n\t"                                                         \
    "cmp r10, r4\n\t"                                                               \
    "bne 40b\n\t"                                                                   \
    "ldr r4, [sp, #84]\n\t"                                                         \
    "ldm r4, {r4-r9}\n\t"         /* (base in the list, no writeback) */            \
    REQUANT("r0", "r4", "r5", "r6") REQUANT("r1", "r4", "r5", "r6")                 \
    REQUANT("r2", "r7", "r8", "r9") REQUANT("r3", "r7", "r8", "r9")                 \
    "ldr r4, [sp, #56]\n\t"                                                         \
    "ldr r5, [sp, #60]\n\t"                                                         \
    "ldr lr, [sp, #64]\n\t"       /* (pipelined with the two before) */             \
    "add r6, r4, r5\n\t"                                                            \
    "strb r0, [r4]\n\t"                                                             \
    "strb r2, [r4, #1]\n\t"                                                         \
    "strb r1, [r6]\n\t"                                                             \
    "strb r3, [r6, #1]\n\t"                                                         \
    "add r6, r6, r5\n\t"                                                            \
    "str r6, [sp, #56]\n\t"                                                         \
    "cmp r11, lr\n\t"                                                               \
    "bne 1b\n\t"                                                                    \
    /* the next channel pair */                                                     \
    "ldr r0, [sp, #16]\n\t"                                                         \
    "ldr r1, [sp, #80]\n\t"                                                         \
    "ldr r3, [sp, #88]\n\t"       /* channel pairs (pipelined) */                   \
    NEXT_PAIR                                                                       \
    "str r0, [sp, #16]\n\t"                                                         \
    "add r0, r0, r1\n\t"                                                            \
    "str r0, [sp, #68]\n\t"       /* the row end */                                 \
    "subs r3, r3, #1\n\t"                                                           \
    "str r3, [sp, #88]\n\t"                                                         \
    "bne 0b\n\t"                                                                    \
    "add sp, sp, #100\n\t"                                                          \
    "pop {r4-r11, pc}\n\t"                                                          \
    /* the constants derived (no packed ones; r8 = the C frame), into S+24 */       \
    "2:\n\t"                                                                        \
    "ldr r8, [sp, #72]\n\t"                                                         \
    "ldr r0, [r8, #28]\n\t"       /* bias */                                        \
    "ldr r10, [r8, #32]\n\t"      /* multiplier */                                  \
    "ldr r11, [r8, #36]\n\t"      /* shift */                                       \
    "ldr lr, [r8, #40]\n\t"       /* step */                                        \
    "ldr r7, [r0], #4\n\t"        /* B0 */                                          \
    "ldr r9, [r0], #4\n\t"        /* B1 */                                          \
    "str r0, [r8, #28]\n\t"                                                         \
    "ldr r1, [r10]\n\t"           /* M0 */                                          \
    "ldr r4, [r10, lr]\n\t"       /* M1 */                                          \
    "add r10, r10, lr, lsl #1\n\t"                                                  \
    "str r10, [r8, #32]\n\t"                                                        \
    "lsr lr, lr, #2\n\t"                                                            \
    "ldrsb r3, [r11]\n\t"                                                           \
    "ldrsb r6, [r11, lr]\n\t"                                                       \
    "add r11, r11, lr, lsl #1\n\t"                                                  \
    "str r11, [r8, #36]\n\t"                                                        \
    "ldr lr, [r8, #44]\n\t"       /* round base */                                  \
    "rsb r3, r3, #0\n\t"          /* E0 */                                          \
    "rsb r6, r6, #0\n\t"          /* E1 */                                          \
    "sub r2, r3, #1\n\t"                                                            \
    "lsl r2, lr, r2\n\t"          /* R0 = 2^(E0-1) + offset 2^E0 */                 \
    "sub r5, r6, #1\n\t"                                                            \
    "lsl r5, lr, r5\n\t"          /* R1 */                                          \
    "add r0, sp, #24\n\t"                                                           \
    "stm r0, {r1-r7, r9}\n\t"                                                       \
    "str r0, [sp, #84]\n\t"       /* Q = S+24 */                                    \
    "mov r1, r7\n\t"                                                                \
    "mov r2, r9\n\t"                                                                \
    "ldr r11, [sp, #96]\n\t"      /* block */                                       \
    "b 3b\n\t"

__attribute__((naked, noinline)) static void tg_conv_pairs(tg_conv_pair_frame *frame)
{
    __asm__ volatile(TG_PAIRS_ASM("lsl r2, r1, #2\n\t", TG_PAIR_GROUP, "add r0, r0, r12, lsl #1\n\t", "",
                                  TG_PAIR_REQUANT));
}

/* One group of 4 taps from the pre-widened weights (tg_conv_params.wide: per channel pair and group, c's
 * even and odd words, then c + 1's): the four weight and the four activation words as eight loads back
 * to back (all but the first pipeline: 9 cycles), 8 SMLAD: 17 cycles for 16 MACs (19 with SXTB16).
 * It needs 8 data registers, so r12 is one of them (not the row distance: the pairs follow each other,
 * one pointer r10 runs through both rows). Accumulators as in TG_PAIR_GROUP. */
#define TG_PAIR_WIDE_GROUP \
    "ldr.w r4, [r10], #4\n\t"  \
    "ldr.w r5, [r10], #4\n\t"  \
    "ldr.w r6, [r10], #4\n\t"  \
    "ldr.w lr, [r10], #4\n\t"  \
    "ldr.w r8, [r11], #4\n\t"  \
    "ldr.w r9, [r11], #4\n\t"  \
    "ldr.w r12, [r11], #4\n\t" \
    "ldr.w r7, [r11], #4\n\t"  \
    "smlad r0, r4, r8, r0\n\t" \
    "smlad r0, r5, r9, r0\n\t" \
    "smlad r1, r4, r12, r1\n\t" \
    "smlad r1, r5, r7, r1\n\t" \
    "smlad r2, r6, r8, r2\n\t" \
    "smlad r2, lr, r9, r2\n\t" \
    "smlad r3, r6, r12, r3\n\t" \
    "smlad r3, lr, r7, r3\n\t"

/* tg_conv_pairs over the pre-widened weights: frame->w is channel c's pair in tg_conv_params.wide (c even),
 * 16 bytes per group (S+80), the next pair right after it (r12, the row distance, is a data register in
 * the loop: the pair step is S+80, read back into r1). The weights are stored doubled, so the biases are
 * doubled once per channel pair and the requantization skips its doubling (4 cycles per pixel pair). */
__attribute__((naked, noinline)) static void tg_conv_pairs_wide(tg_conv_pair_frame *frame)
{
    __asm__ volatile(TG_PAIRS_ASM("lsl r2, r1, #4\n\t", TG_PAIR_WIDE_GROUP,
                                  "add r0, r0, r1\n\t",
                                  "lsl r1, r1, #1\n\t"
                                  "lsl r2, r2, #1\n\t",
                                  TG_PAIR_REQUANT_DOUBLED));
}
/* clang-format on */

/* The frame of channels [c, c + 2 * count) of a run (short requantization, consecutive rows, a bias)
 * for `pairs` pixel pairs. out: (pixel 0, channel c). */
static void tg_conv_frame_of(tg_conv_pair_frame *frame, const tg_conv_params *p, int32_t c, int32_t count,
                             const uint32_t *block, int32_t taps, int8_t *out, int32_t stride, int32_t pairs)
{
    const int32_t groups = (taps + 3) >> 2, q = p->per_channel ? c : 0;
    frame->w = tg_conv_weights_of(p, c, taps);
    frame->next_row = taps;
    frame->groups = groups;
    frame->stride = stride;
    frame->block = block;
    frame->end = block + pairs * TG_CONV_GROUP_WORDS * groups;
    frame->bias = p->bias + c;
    frame->multiplier = p->multiplier + q;
    frame->shift = p->shift + q;
    frame->step = p->per_channel ? 4 : 0;
    frame->round_base = 2 * p->output_offset + 1;
    frame->out = out;
    frame->pairs = count;
    /* the compiler's packed constants start at even channels (a run from an odd one derives them) */
    frame->packed = p->pair_constants != NULL && (c & 1) == 0 ? p->pair_constants + 4 * c : NULL;
}

/* Rows of at most this many taps may be the last stored one in tg_conv_two (copied, zero padded). */
#define TG_CONV_COPY_TAPS 64

/* Two short live channels a, b (a == b: one) that are not neighbours: their rows are any two stored
 * ones, so the pair runs with their own row distance and copies of their constants, into a small
 * buffer (the assembly stores the two channels side by side) copied to their places. The last stored
 * row, whose partial last group must not be read whole, is read from a zero-padded copy (one buffer:
 * at most one of a, b is that row, or both are). out: (pixel 0, channel c_begin). */
static void tg_conv_two(const tg_conv_params *p, int32_t a, int32_t b, const uint32_t *block, int32_t taps,
                        int8_t *out, int32_t c_begin, int32_t stride, int32_t valid)
{
    const int32_t qa = p->per_channel ? a : 0, qb = p->per_channel ? b : 0;
    const int32_t bias[2] = {p->bias[a], p->bias[b]};
    const int32_t multiplier[2] = {p->multiplier[qa], p->multiplier[qb]};
    const int8_t shift[2] = {p->shift[qa], p->shift[qb]};
    const int8_t *wa = tg_conv_weights_of(p, a, taps), *wb = tg_conv_weights_of(p, b, taps);
    int8_t both[2 * 8];
    int8_t copy[TG_CONV_COPY_TAPS + 4];
    tg_conv_pair_frame frame;
    int32_t j;
    if ((taps & 3) != 0 && (tg_conv_last_row(p, a) || tg_conv_last_row(p, b))) {
        memset(copy, 0, sizeof copy);
        memcpy(copy, tg_conv_last_row(p, a) ? wa : wb, (size_t)taps);
        wa = tg_conv_last_row(p, a) ? copy : wa;
        wb = tg_conv_last_row(p, b) ? copy : wb;
    }
    /* an odd block's last pair too: its missing pixel is computed from whatever its slot holds, not stored */
    tg_conv_frame_of(&frame, p, a, 1, block, taps, both, 2, (valid + 1) >> 1);
    frame.w = wa;
    /* the distance of two addresses that need not be in one object: as integers */
    frame.next_row = (int32_t)((uintptr_t)wb - (uintptr_t)wa);
    frame.bias = bias;
    frame.multiplier = multiplier;
    frame.shift = shift;
    frame.step = 4;
    frame.packed = NULL; /* (any two channels: the assembly derives their constants) */
    tg_conv_pairs(&frame);
    for (j = 0; j < valid; ++j) {
        out[(a - c_begin) + j * stride] = both[2 * j];
        out[(b - c_begin) + j * stride] = both[2 * j + 1];
    }
}

/* acc[p] += w . x_p for a pixel pair's 2 pixels (the block layout, tg_conv_dsp.h), in C. */
static void tg_conv_mac(int32_t acc[2], const int8_t *w, const uint32_t *x, int32_t groups)
{
    int32_t a0 = acc[0], a1 = acc[1], g;
    for (g = 0; g < groups; ++g, x += TG_CONV_GROUP_WORDS) {
        const uint32_t raw = tg_read_u32(w + 4 * g);
        const uint32_t even = tg_sxtb16(raw), odd = tg_sxtb16_ror8(raw);
        a0 = tg_smlad(odd, x[1], tg_smlad(even, x[0], a0));
        a1 = tg_smlad(odd, x[3], tg_smlad(even, x[2], a1));
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* Is every weight of the row 0 (a dead output channel, whose output is a constant)? */
static int32_t tg_conv_zero_row(const int8_t *w, int32_t count)
{
    int32_t i;
    for (i = 0; i + 4 <= count; i += 4) {
        if (tg_read_u32(w + i) != 0) {
            return 0;
        }
    }
    for (; i < count; ++i) {
        if (w[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Per output channel, once per layer: kinds[2c] = TG_CONV_SHORT (the short requantization applies),
 * TG_CONV_DEAD (all weights 0: the output is the constant kinds[2c + 1]) or TG_CONV_GENERAL. */
TG_COLD void tg_conv_classify(const tg_conv_params *p, int8_t *kinds)
{
    const int32_t taps = p->filter.h * p->filter.w * p->filter.c;
    const int32_t layer_short = p->accumulator_bits <= 29 && p->activation_min <= -128 && p->activation_max >= 127;
    int32_t c;
    for (c = 0; c < p->output.c; ++c) {
        const int32_t q = p->per_channel ? c : 0;
        const int8_t *w = tg_conv_weights_of(p, c, taps);
        kinds[2 * c + 1] = 0;
        if (w != NULL && layer_short && tg_dsp_short_applies(29, p->shift[q])) {
            kinds[2 * c] = TG_CONV_SHORT;
        } else if (w == NULL || tg_conv_zero_row(w, taps)) {
            /* Dead (not stored, or all zero): the output is the requantized bias. */
            const int32_t v =
                tg_requantize(p->bias ? p->bias[c] : 0, p->multiplier[q], p->shift[q]) + p->output_offset;
            kinds[2 * c] = TG_CONV_DEAD;
            kinds[2 * c + 1] = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
        } else {
            kinds[2 * c] = TG_CONV_GENERAL;
        }
    }
    /* A short channel's second byte: how many channels from it the assembly loop takes in one run (short
     * ones, whose rows follow each other; not the last stored row when a partial last group would read
     * past it), at most 127. */
    for (c = p->output.c - 1; c >= 0; --c) {
        if (kinds[2 * c] == TG_CONV_SHORT && (taps % 4 == 0 || !tg_conv_last_row(p, c))) {
            const int32_t next = c + 1 < p->output.c && kinds[2 * c + 2] == TG_CONV_SHORT ? kinds[2 * c + 3] : 0;
            kinds[2 * c + 1] = (int8_t)TG_MIN(127, next + 1);
        }
    }
}

/* Output channel oc of the block in C: dead channels, channels that need the general requantization,
 * layers without bias, odd blocks, the last stored row when its partial last group must not read
 * past the weights. out: the channel's output for the block's first pixel; stride: bytes between pixels. */
static void tg_conv_channel(const tg_conv_params *p, int32_t oc, const int8_t *kind, const uint32_t *block,
                            int32_t taps, int8_t *out, int32_t stride, int32_t valid)
{
    const int32_t groups = taps >> 2, tail = taps & 3, pair_words = 4 * ((taps + 3) >> 2);
    const int32_t q = p->per_channel ? oc : 0;
    const int8_t *w = tg_conv_weights_of(p, oc, taps);
    /* With a partial last group, every row but the last stored reads its group whole: the bytes
     * past the row (the next row's first weights) meet widened zeros. */
    const int32_t whole = tail > 0 && !tg_conv_last_row(p, oc) ? groups + 1 : groups;
    int32_t first, j;
    for (first = 0; first < valid; first += 2, block += pair_words) {
        const int32_t n = TG_MIN(2, valid - first);
        int32_t acc[2];
        if (kind[0] == TG_CONV_DEAD) {
            for (j = 0; j < n; ++j, out += stride) {
                *out = kind[1];
            }
            continue;
        }
        /* (an odd block's missing pixel is computed from whatever its slot holds, and not stored) */
        acc[0] = acc[1] = p->bias ? p->bias[oc] : 0;
        tg_conv_mac(acc, w, block, whole);
        if (whole == groups && tail > 0) {
            const uint32_t tail_weights = tg_dsp_read_partial(w + 4 * groups, tail, 0);
            tg_conv_mac(acc, (const int8_t *)&tail_weights, block + TG_CONV_GROUP_WORDS * groups, 1);
        }
        if (kind[0] == TG_CONV_SHORT) {
            tg_dsp_short_t s;
            tg_dsp_short_prepare(&s, p->multiplier[q], p->shift[q], p->output_offset);
            for (j = 0; j < n; ++j, out += stride) {
                *out = (int8_t)tg_ssat8(tg_dsp_short(2 * acc[j], &s));
            }
        } else {
            for (j = 0; j < n; ++j, out += stride) {
                const int32_t v = tg_requantize(acc[j], p->multiplier[q], p->shift[q]) + p->output_offset;
                *out = (int8_t)TG_CLAMP(v, p->activation_min, p->activation_max);
            }
        }
    }
}

/* The last pixel of an odd block for `count` channel pairs from c (a run's): the assembly over its
 * pixel pair (the missing pixel is computed from whatever its slot holds), 16 channel pairs at a time
 * into a small buffer, pixel 0's outputs copied out. out: (that pixel, channel c). */
static void tg_conv_odd_pixel(const tg_conv_params *p, int32_t c, int32_t count, const uint32_t *pair, int32_t taps,
                              int8_t *out)
{
    int8_t both[2 * 32];
    int32_t k, i;
    for (k = 0; k < count; k += 16) {
        const int32_t n = TG_MIN(16, count - k);
        tg_conv_pair_frame frame;
        tg_conv_frame_of(&frame, p, c + 2 * k, n, pair, taps, both, 32, 1);
        tg_conv_pairs(&frame);
        for (i = 0; i < 2 * n; ++i) {
            out[2 * k + i] = both[i];
        }
    }
}

/* Output channels [c_begin, c_end) of a block of `valid` (<= 8) output pixels: (pixel j, channel oc) goes
 * to out[j * stride + oc - c_begin]. Runs of channels with the short requantization go to the assembly
 * two by two (an odd run's last channel waits for the next odd one: dead channels split runs; an odd
 * block's last pixel as half a pixel pair), the other channels to C. With pre-widened weights (p->wide)
 * a run starting at an even channel takes them for its whole pixel pairs; the rest reads the int8 rows. */
void tg_conv_block_range_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t taps,
                            int8_t *out, int32_t stride, int32_t c_begin, int32_t c_end, int32_t valid)
{
    const int32_t even = valid & ~1, runs = p->bias != NULL && valid > 0;
    const uint32_t *last_pair = block + (even >> 1) * TG_CONV_GROUP_WORDS * ((taps + 3) >> 2);
    int32_t oc = c_begin, c, waiting = -1;
    while (oc < c_end) {
        /* Runs hold live channels only, so their rows are consecutive; with a partial last group the
         * last stored row is left to C (the assembly reads whole groups past a row's end): tg_conv_classify. */
        const int32_t run = runs && kinds[2 * oc] == TG_CONV_SHORT;
        /* (a run of 0: the last stored row, with a partial last group; alone, it waits for a partner) */
        const int32_t length = kinds[2 * oc + 1] > 0 ? kinds[2 * oc + 1] : taps <= TG_CONV_COPY_TAPS;
        const int32_t end = run ? TG_MIN(c_end, oc + length) : oc;
        if (end > oc) {
            if ((end - oc) >= 2 && even > 0) {
                tg_conv_pair_frame frame;
                tg_conv_frame_of(&frame, p, oc, (end - oc) >> 1, block, taps, out + (oc - c_begin), stride, even >> 1);
                if (p->wide != NULL && (oc & 1) == 0) {
                    /* the pre-widened weights: pairs start at even channels, 4 words per group and pair */
                    frame.w = (const int8_t *)(p->wide + (oc >> 1) * TG_CONV_GROUP_WORDS * ((taps + 3) >> 2));
                    tg_conv_pairs_wide(&frame);
                } else {
                    tg_conv_pairs(&frame);
                }
            }
            if ((end - oc) >= 2 && even < valid) {
                tg_conv_odd_pixel(p, oc, (end - oc) >> 1, last_pair, taps, out + (oc - c_begin) + even * stride);
            }
            if ((end - oc) & 1) {
                if (waiting >= 0) {
                    tg_conv_two(p, waiting, end - 1, block, taps, out, c_begin, stride, valid);
                    waiting = -1;
                } else {
                    waiting = end - 1;
                }
            }
            oc = end;
            continue;
        }
        if (kinds[2 * oc] == TG_CONV_DEAD) { /* its constant, without a call (VWW: 971 of 2,738 channels) */
            int8_t *dst = out + (oc - c_begin);
            for (c = 0; c < valid; ++c, dst += stride) {
                *dst = kinds[2 * oc + 1];
            }
        } else {
            tg_conv_channel(p, oc, kinds + 2 * oc, block, taps, out + (oc - c_begin), stride, valid);
        }
        ++oc;
    }
    if (waiting >= 0) {
        tg_conv_two(p, waiting, waiting, block, taps, out, c_begin, stride, valid);
    }
}

/* out[j * C_out + oc] for j < valid (<= 8), every oc; out points at the block's first output pixel. */
void tg_conv_block_s8(const tg_conv_params *p, const int8_t *kinds, const uint32_t *block, int32_t taps, int8_t *out,
                      int32_t valid)
{
    tg_conv_block_range_s8(p, kinds, block, taps, out, p->output.c, 0, p->output.c, valid);
}

#else
typedef int tg_conv_block_s8_needs_dsp; /* (ISO C forbids an empty file) */
#endif
