/* tg_conv_im2col_s8: standard 2-D convolution (groups 1; any kernel, stride, dilation, padding).
 * Must equal tg_conv_s8 (the plain C reference), and falls back to it on cores without the DSP
 * extension and for grouped convolutions.
 *
 * DSP: im2col, 8 output pixels at a time (4 with less scratch). Each pixel's KH x KW x C_in taps are
 * widened to int16 (+ input offset; padded taps 0) in the scratch buffer (tg_conv_dsp.h layout), then
 * every pair of output channels runs the 2 x 2 microkernel over each pixel pair (weights [C_out, KH, KW,
 * C_in] are already in that tap order). The widening is most of what the layer costs beside the
 * microkernel (each input value is widened once per window that reads it: 9 times for a 3 x 3), so its
 * common case is lean: when a kernel row's KW x C_in values are whole groups of 4 (and dilation.w is 1),
 * the windows inside the input of a block's consecutive pixels along an output row are widened as one
 * run (tg_im2col_inside), kernel row by kernel row straight from the input, the rows' loops in assembly
 * for 16k values (IC's 3 x 3 x 16, 32, 64: 23 cycles per 16 values, 5 per row). A window over the border
 * (or dilated) is widened kernel row by kernel row between zeroed padded taps when C_in is a multiple of
 * 4 (so that a tap pixel starts a group of 4 taps); otherwise such windows, and the inside ones whose
 * rows are not whole groups, are first copied as int8 (padding = the input zero point) into one more
 * scratch row of KH x KW x C_in bytes and widened from there. */
#include "tg_conv.h"
#include "internal/tg_dsp.h"

/* Bytes of the int8 row a window is gathered in: only when C_in is not a multiple of 4. */
static int32_t tg_im2col_row_bytes(const tg_conv_params *p)
{
    const int32_t groups = (p->filter.h * p->filter.w * p->input.c + 3) / 4;
    return p->input.c % 4 != 0 ? 4 * groups : 0;
}

int32_t tg_conv_im2col_s8_get_buffer_size(const tg_conv_params *params)
{
    const int32_t taps = params->filter.h * params->filter.w * params->input.c;
    const int32_t groups = (taps + 3) / 4;
    /* the channel kinds, 8 pixels' taps widened (tg_conv_dsp.h; 4 pixels' do with less), the gather row */
    return (2 * params->output.c + 3) / 4 * 4 + 64 * groups + tg_im2col_row_bytes(params);
}

#if defined(__ARM_FEATURE_DSP)
#include "internal/tg_conv_dsp.h"

/* A window that is not inside the input (or dilated): its taps gathered as int8 (padding = the input
 * zero point, widened to 0) and widened as one row. Only the border pixels come here (most of KWS's:
 * a 10 x 4 kernel on 49 x 10 MFCCs, so not optimized for size). Without dilation along W, the taps of
 * a kernel row inside the input are one contiguous run: copied byte by byte between the padding
 * (short runs; calls to memcpy / memset cost more). */
static void tg_im2col_gather(const tg_conv_params *p, const int8_t *input, int32_t base_y, int32_t base_x,
                             uint32_t *slot, int8_t *row, uint32_t offsets)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, span = k_w * in_c;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    const int32_t first = p->dilation.w == 1 ? TG_MIN(k_w, TG_MAX(0, -base_x)) * in_c : 0;
    const int32_t last = p->dilation.w == 1 ? TG_MAX(first, TG_MIN(k_w, in_w - base_x) * in_c) : 0;
    int8_t *dst = row;
    int32_t ky, kx, i;
    for (ky = 0; ky < k_h; ++ky, dst += span) {
        const int32_t in_y = base_y + ky * p->dilation.h;
        if (in_y < 0 || in_y >= in_h) {
            for (i = 0; i < span; ++i) {
                dst[i] = zero_point;
            }
        } else if (p->dilation.w == 1) {
            const int8_t *src = input + in_y * in_w * in_c;
            for (i = 0; i < first; ++i) {
                dst[i] = zero_point;
            }
            for (; i < last; ++i) {
                dst[i] = src[base_x * in_c + i];
            }
            for (; i < span; ++i) {
                dst[i] = zero_point;
            }
        } else {
            for (kx = 0; kx < k_w; ++kx) {
                const int32_t in_x = base_x + kx * p->dilation.w;
                const int32_t inside = in_x >= 0 && in_x < in_w;
                for (i = 0; i < in_c; ++i) {
                    dst[kx * in_c + i] = inside ? input[(in_y * in_w + in_x) * in_c + i] : zero_point;
                }
            }
        }
    }
    tg_conv_widen(slot, row, k_h * span, offsets);
}

/* clang-format off */
/* A window's `rows` kernel rows of 16 `blocks` values each (row_step bytes apart in the input) widened
 * into the groups from dst on, the row loop in assembly too (5 cycles a row). */
TG_INLINE void tg_im2col_widen_rows16(uint32_t *dst, const int8_t *src, int32_t rows, int32_t blocks,
                                      int32_t next_row, uint32_t offsets)
{
    int32_t n;
    uint32_t r0, r1, r2, r3, w;
    __asm__ volatile("1:\n\t"
                     "mov %[n], %[blocks]\n\t"
                     "2:\n\t"
                     TG_CONV_WIDEN16
                     "subs %[n], %[n], #1\n\t"
                     "bne 2b\n\t"
                     "add %[src], %[src], %[next]\n\t"
                     "subs %[rows], %[rows], #1\n\t"
                     "bne 1b"
                     : [src] "+r"(src), [dst] "+r"(dst), [rows] "+r"(rows), [n] "=&r"(n), [r0] "=&r"(r0),
                       [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [w] "=&r"(w)
                     : [off] "r"(offsets), [blocks] "r"(blocks), [next] "r"(next_row)
                     : "cc", "memory");
}
/* clang-format on */

/* `groups` groups of padded taps from dst on (x + input_offset = 0); returns the group after them. */
TG_INLINE uint32_t *tg_im2col_zero(uint32_t *dst, int32_t groups)
{
    for (; groups > 0; --groups, dst += TG_CONV_GROUP_WORDS) {
        dst[0] = dst[1] = 0;
    }
    return dst;
}

/* A window over the border (or dilated) without a row, for C_in a multiple of 4 (a tap pixel is whole
 * groups): a kernel row outside the input is zeros; inside, without dilation along W, its taps in the
 * input are one run between the padded ones (widened in one go), with it each tap pixel's groups. Not
 * cold: a third of the windows of an 8 x 8 map with a 3 x 3 kernel are on its border (IC's last layers). */
static void tg_im2col_widen_taps(const tg_conv_params *p, const int8_t *input, int32_t base_y, int32_t base_x,
                                 uint32_t *slot, uint32_t offsets)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c, k_w = p->filter.w;
    const int32_t pixel_groups = in_c / 4;
    const int32_t first = TG_MIN(k_w, TG_MAX(0, -base_x)), last = TG_MAX(first, TG_MIN(k_w, in_w - base_x));
    int32_t ky, kx;
    for (ky = 0; ky < p->filter.h; ++ky) {
        const int32_t in_y = base_y + ky * p->dilation.h;
        if (in_y < 0 || in_y >= in_h) {
            slot = tg_im2col_zero(slot, k_w * pixel_groups);
        } else if (p->dilation.w == 1) {
            slot = tg_im2col_zero(slot, first * pixel_groups);
            slot = tg_conv_widen_run(slot, input + (in_y * in_w + base_x + first) * in_c, (last - first) * in_c,
                                     offsets);
            slot = tg_im2col_zero(slot, (k_w - last) * pixel_groups);
        } else {
            for (kx = 0; kx < k_w; ++kx) {
                const int32_t in_x = base_x + kx * p->dilation.w;
                slot = in_x >= 0 && in_x < in_w
                           ? tg_conv_widen_run(slot, input + (in_y * in_w + in_x) * in_c, in_c, offsets)
                           : tg_im2col_zero(slot, pixel_groups);
            }
        }
    }
}

/* `count` windows inside the input of consecutive output pixels of one row (block pixels j, j + 1, ..;
 * src: the first one's top left tap), when dilation.w is 1 and a kernel row's KW x C_in values are whole
 * groups: each kernel row's values are one run in the input, and the runs follow each other in the
 * pixel's slot. */
static void tg_im2col_inside(const tg_conv_params *p, const int8_t *src, uint32_t *block, int32_t groups, int32_t j,
                             int32_t count, uint32_t offsets)
{
    const int32_t k_h = p->filter.h, span = p->filter.w * p->input.c;
    const int32_t row_step = p->dilation.h * p->input.w * p->input.c, pixel_step = p->stride.w * p->input.c;
    if (span % 16 == 0) { /* (IC's 3 x 3 x 16, 32, 64) */
        for (; count > 0; --count, ++j, src += pixel_step) {
            tg_im2col_widen_rows16(TG_CONV_SLOT(block, groups, j), src, k_h, span / 16, row_step - span, offsets);
        }
        return;
    }
    for (; count > 0; --count, ++j, src += pixel_step) {
        uint32_t *dst = TG_CONV_SLOT(block, groups, j);
        const int8_t *row = src;
        int32_t ky;
        for (ky = 0; ky < k_h; ++ky, row += row_step) {
            dst = tg_conv_widen_run(dst, row, span, offsets);
        }
    }
}

/* How many windows along the output row from (base_y, base_x), at most `most`, lie inside the input (0:
 * this one does not, or the kernel is dilated along W): their kernel rows are runs of KW x C_in values. */
static int32_t tg_im2col_inside_count(const tg_conv_params *p, int32_t base_y, int32_t base_x, int32_t most)
{
    if (p->dilation.w != 1 || base_y < 0 || base_y + (p->filter.h - 1) * p->dilation.h >= p->input.h ||
        base_x < 0 || base_x + p->filter.w > p->input.w) {
        return 0;
    }
    return TG_MIN(most, (p->input.w - p->filter.w - base_x) / p->stride.w + 1);
}

/* The taps of input window (base_y, base_x) widened into the block at pixel slot `slot`, when its kernel
 * rows are not whole groups or it is not inside the input (else tg_im2col_inside). */
static void tg_im2col_pixel(const tg_conv_params *p, const int8_t *input, int32_t base_y, int32_t base_x,
                            uint32_t *slot, int8_t *row, uint32_t offsets)
{
    const int32_t in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, span = p->filter.w * in_c;
    if (tg_im2col_inside_count(p, base_y, base_x, 1)) { /* the runs copied into the row, widened as one */
        const int8_t *src = input + (base_y * in_w + base_x) * in_c;
        const int32_t row_step = p->dilation.h * in_w * in_c;
        int32_t ky;
        for (ky = 0; ky < k_h; ++ky, src += row_step) { /* (short runs: word copies beat a memcpy call) */
            int8_t *dst = row + ky * span;
            int32_t i;
            for (i = 0; i + 4 <= span; i += 4) {
                const uint32_t word = tg_read_u32(src + i);
                memcpy(dst + i, &word, sizeof word);
            }
            for (; i < span; ++i) {
                dst[i] = src[i];
            }
        }
        tg_conv_widen(slot, row, k_h * span, offsets);
    } else if (row != NULL) {
        tg_im2col_gather(p, input, base_y, base_x, slot, row, offsets);
    } else {
        tg_im2col_widen_taps(p, input, base_y, base_x, slot, offsets);
    }
}

/* The layer, or 0 when this variant does not take it. Fused (stage): the blocks' outputs go through the
 * residual Add, with TG_CONV_ADD_TEMP_BYTES more scratch (after the channel kinds), or a block's outputs
 * (tg_conv_add_temp_bytes). */
int32_t tg_conv_im2col_run(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output,
                           const tg_conv_add_params *f, const int8_t *residual, tg_conv_add_stage stage)
{
    const int32_t out_w = p->output.w, out_c = p->output.c;
    const int32_t pixels = p->output.h * out_w;
    const int32_t taps = p->filter.h * p->filter.w * p->input.c;
    const int32_t groups = (taps + 3) / 4;
    const int32_t kinds_bytes = TG_CONV_KINDS_BYTES(p) + (stage != NULL ? TG_CONV_ADD_TEMP_BYTES : 0);
    const int32_t row_bytes = tg_im2col_row_bytes(p);
    const int32_t whole_rows = p->filter.w * p->input.c % 4 == 0; /* a kernel row's taps are whole groups */
    const uint32_t offsets = tg_pair(p->input_offset);
    int32_t block_pixels, temp_bytes = 0, first, oy = 0, ox = 0;
    int8_t *kinds, *row;
    uint32_t *block;
    if (p->groups != 1 || ctx == NULL || ctx->buf == NULL ||
        ctx->size < kinds_bytes + TG_CONV_BLOCK_BYTES(groups, 4) + row_bytes) {
        return 0;
    }
    block_pixels = ctx->size >= kinds_bytes + TG_CONV_BLOCK_BYTES(groups, 8) + row_bytes ? 8 : 4;
    if (stage != NULL) {
        temp_bytes =
            tg_conv_add_temp_bytes(p, block_pixels, ctx->size, TG_CONV_BLOCK_BYTES(groups, block_pixels) + row_bytes);
    }
    kinds = (int8_t *)ctx->buf; /* then the Add's temp, when fused */
    block = (uint32_t *)(kinds + TG_CONV_KINDS_BYTES(p) + temp_bytes);
    row = row_bytes ? (int8_t *)(block + block_pixels * 2 * groups) : NULL;
    tg_conv_classify(p, kinds);
    for (first = 0; first < pixels; first += block_pixels) {
        const int32_t valid = TG_MIN(block_pixels, pixels - first);
        int32_t j = 0;
        while (j < valid) { /* the block's pixels in runs along output rows */
            const int32_t base_y = oy * p->stride.h - p->padding.top, base_x = ox * p->stride.w - p->padding.left;
            int32_t run = whole_rows ? tg_im2col_inside_count(p, base_y, base_x, TG_MIN(valid - j, out_w - ox)) : 0;
            if (run > 0) {
                tg_im2col_inside(p, input + (base_y * p->input.w + base_x) * p->input.c, block, groups, j, run,
                                 offsets);
            } else {
                tg_im2col_pixel(p, input, base_y, base_x, TG_CONV_SLOT(block, groups, j), row, offsets);
                run = 1;
            }
            j += run;
            ox += run;
            if (ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
        if (stage != NULL) {
            stage(f, kinds, block, taps, residual + first * out_c, output + first * out_c, valid,
                  kinds + TG_CONV_KINDS_BYTES(p), temp_bytes);
        } else {
            tg_conv_block_s8(p, kinds, block, taps, output + first * out_c, valid);
        }
    }
    return 1;
}
#endif

void tg_conv_im2col_s8(const tg_context *ctx, const tg_conv_params *p, const int8_t *input, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP)
    if (tg_conv_im2col_run(ctx, p, input, output, NULL, NULL, NULL)) {
        return;
    }
#endif
    tg_conv_s8(ctx, p, input, output);
}
