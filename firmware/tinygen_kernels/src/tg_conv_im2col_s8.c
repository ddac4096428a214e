/* tg_conv_im2col_s8: standard 2-D convolution (groups 1; any kernel, stride, dilation, padding).
 * Must equal tg_conv_s8 (the plain C reference), and falls back to it on cores without the DSP
 * extension and for grouped convolutions.
 *
 * DSP: im2col, 8 output pixels at a time (4 with less scratch). Each pixel's KH x KW x C_in taps are
 * widened to int16 (+ input offset; padded taps 0) in the scratch buffer (tg_conv_dsp.h layout), then
 * every pair of output channels runs the 2 x 2 microkernel over each pixel pair (weights [C_out, KH, KW, C_in] are already in
 * that tap order). A window inside the input is widened one kernel row (KW x C_in contiguous values)
 * at a time; in a window over the border (or dilated) each tap pixel's C_in values are widened where
 * they are and padded taps become zeros -- when C_in is a multiple of 4, so that a tap pixel starts a
 * group of 4 taps; otherwise such windows are first gathered as int8 (padding = the input zero point)
 * into one more scratch row of KH x KW x C_in bytes and widened from there. */
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

/* The same without a row, for C_in a multiple of 4: each tap pixel's groups widened where they are
 * (TG_CONV_GROUP_WORDS apart), a padded tap's as zeros (x + input_offset = 0). */
TG_COLD static void tg_im2col_widen_taps(const tg_conv_params *p, const int8_t *input, int32_t base_y,
                                         int32_t base_x, uint32_t *slot, uint32_t offsets)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    int32_t ky, kx, g;
    for (ky = 0; ky < p->filter.h; ++ky) {
        const int32_t in_y = base_y + ky * p->dilation.h;
        for (kx = 0; kx < p->filter.w; ++kx, slot += in_c) { /* in_c / 4 groups */
            const int32_t in_x = base_x + kx * p->dilation.w;
            if (in_y >= 0 && in_y < in_h && in_x >= 0 && in_x < in_w) {
                tg_conv_widen(slot, input + (in_y * in_w + in_x) * in_c, in_c, offsets);
                continue;
            }
            for (g = 0; g < in_c / 4; ++g) {
                slot[TG_CONV_GROUP_WORDS * g] = slot[TG_CONV_GROUP_WORDS * g + 1] = 0;
            }
        }
    }
}

/* The taps of input window (base_y, base_x) widened into the block at pixel slot `slot`. */
static void tg_im2col_pixel(const tg_conv_params *p, const int8_t *input, int32_t base_y, int32_t base_x,
                            uint32_t *slot, int8_t *row, uint32_t offsets)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t span = k_w * in_c; /* values of one kernel row, contiguous in the input when dilation.w = 1 */
    int32_t ky;
    if (p->dilation.w == 1 && base_y >= 0 && base_y + (k_h - 1) * p->dilation.h < in_h && base_x >= 0 &&
        base_x + k_w - 1 < in_w) { /* the window is inside the input: one run of KW x C_in values per row */
        const int8_t *src = input + (base_y * in_w + base_x) * in_c;
        const int32_t row_step = p->dilation.h * in_w * in_c;
        if (span % 4 == 0) { /* each run starts a group (span / 4 of them): widen it in place */
            for (ky = 0; ky < k_h; ++ky, src += row_step, slot += span) {
                tg_conv_widen(slot, src, span, offsets);
            }
        } else {
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
        }
        return;
    }
    if (row != NULL) {
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
        int32_t j;
        for (j = 0; j < valid; ++j) {
            tg_im2col_pixel(p, input, oy * p->stride.h - p->padding.top, ox * p->stride.w - p->padding.left,
                            TG_CONV_SLOT(block, groups, j), row, offsets);
            if (++ox == out_w) {
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
