/* Host test driver for the portable parts of the DSP kernel variants (tests/dsp/test_dsp_host.py).
 *
 * Usage: dsp_driver MODE < records > results (native-endian int32 records, one int32 result each)
 *   "requant" (x, multiplier, shift)          -> tg_dsp_requant: the five-instruction form's arithmetic
 *   "short"   (x, multiplier, shift, offset)  -> tg_dsp_short(2x) (tg_requantize(x) + offset when it applies)
 *   "short_any" (x, multiplier, shift, offset) -> tg_dsp_short_any(2x): shifts 0 .. -23
 *   "scratch" (kernel, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, groups, multiplier)
 *             -> the kernel's _get_buffer_size; kernel 0..6: conv 1x1, conv im2col, conv wrapper,
 *                depthwise 3x3, depthwise fast, depthwise wrapper, fully connected fast (K = IC), wide
 *                (kernel 7) and direct (kernel 8), conv few channels (kernel 9); kernel 12: the fused
 *                residual Add's _rows twin of conv 1x1 (a 1x1 kernel without padding) or im2col
 *                (tg_conv_*_add_rows_s8); kernel 13: depthwise 3x3 in its row order
 *                (tg_depthwise_conv_3x3_s8_row_order_buffer_size); kernel 14: conv 1x1 with few input
 *                channels (tg_conv_1x1_few_s8)
 *   "add_rows" (x1, x2, input1_offset, input2_offset, output_offset, input1 multiplier, shift, input2
 *             multiplier, shift, output multiplier, shift, activation min, max, table entry)
 *             -> tg_add_rows_s8's Add of x1 and x2 (src/tg_add_rows_s8.c), or -1000 where its exact-shift loop
 *                does not apply; through tg_add_params.rescaled filled with the table entry (every byte
 *                reads it) unless the entry is INT32_MIN
 * On the host (no __ARM_FEATURE_DSP) tg_dsp.h (a private header of the library) defines the forms in portable C with the same arithmetic
 * as the assembly (which the QEMU tests check end to end).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tg_conv.h"
#include "tg_fully_connected.h"

#include "internal/tg_add_rows.h" /* private to the library: built with -I<library>/src */
#include "internal/tg_dsp.h"

#define CHUNK 1024

static int32_t records[CHUNK * 19];
static int32_t results[CHUNK];

static int32_t scratch(const int32_t *r)
{
    tg_conv_params p;
    tg_fully_connected_params f;
    tg_conv_few_channels_params few;
    memset(&p, 0, sizeof p);
    memset(&f, 0, sizeof f);
    p.input.n = p.output.n = p.filter.n = 1;
    p.input.h = r[1];
    p.input.w = r[2];
    p.input.c = r[3];
    p.output.h = r[4];
    p.output.w = r[5];
    p.output.c = r[6];
    p.filter.h = r[7];
    p.filter.w = r[8];
    p.filter.c = r[3] / r[17];
    p.stride.h = r[9];
    p.stride.w = r[10];
    p.dilation.h = r[11];
    p.dilation.w = r[12];
    p.padding.top = r[13];
    p.padding.left = r[14];
    p.padding.bottom = r[15];
    p.padding.right = r[16];
    p.groups = r[17];
    p.depth_multiplier = r[18];
    f.rows = 1;
    f.input_depth = r[3];
    f.output_depth = r[6];
    few.conv = p; /* kernels 9 and 14 */
    few.packed = NULL;
    switch (r[0]) {
    case 0:
        return tg_conv_1x1_s8_get_buffer_size(&p);
    case 1:
        return tg_conv_im2col_s8_get_buffer_size(&p);
    case 2:
        return tg_conv_wrapper_s8_get_buffer_size(&p);
    case 3:
        return tg_depthwise_conv_3x3_s8_get_buffer_size(&p);
    case 4:
        return tg_depthwise_conv_fast_s8_get_buffer_size(&p);
    case 5:
        return tg_depthwise_conv_wrapper_s8_get_buffer_size(&p);
    case 6:
        return tg_fully_connected_fast_s8_get_buffer_size(&f);
    case 8:
        return tg_fully_connected_direct_s8_get_buffer_size(&f);
    case 9:
        return tg_conv_few_channels_s8_get_buffer_size(&few);
    case 13:
        return tg_depthwise_conv_3x3_s8_row_order_buffer_size(&p);
    case 14:
        return tg_conv_1x1_few_s8_get_buffer_size(&few);
    case 12: {
        tg_conv_add_params fused;
        memset(&fused, 0, sizeof fused);
        fused.conv = p;
        return p.filter.h == 1 && p.filter.w == 1 && r[13] == 0 && r[14] == 0 && r[15] == 0 && r[16] == 0
                   ? tg_conv_1x1_add_rows_s8_get_buffer_size(&fused)
                   : tg_conv_im2col_add_rows_s8_get_buffer_size(&fused);
    }
    default:
        return tg_fully_connected_wide_s8_get_buffer_size(&f);
    }
}

/* One element through tg_add_rows_s8 (a row of 1), with the Add's parameters of the record. */
static int32_t add_rows(const int32_t *r)
{
    tg_add_params p;
    tg_add_rows_t rows;
    int32_t table[256];
    const int8_t x1 = (int8_t)r[0], x2 = (int8_t)r[1];
    int8_t out;
    int32_t i;
    memset(&p, 0, sizeof p);
    if (r[13] != INT32_MIN) {
        for (i = 0; i < 256; ++i) {
            table[i] = r[13];
        }
        p.rescaled = table;
    }
    p.input1_offset = r[2];
    p.input2_offset = r[3];
    p.output_offset = r[4];
    p.input1_multiplier = r[5];
    p.input1_shift = r[6];
    p.input2_multiplier = r[7];
    p.input2_shift = r[8];
    p.output_multiplier = r[9];
    p.output_shift = r[10];
    p.activation_min = r[11];
    p.activation_max = r[12];
    p.left_shift = 20;
    tg_add_rows_prepare(&rows, &p);
    if (!rows.exact) {
        return -1000;
    }
    tg_add_rows_s8(&rows, &x1, 1, &x2, 1, &out, 1, 1, 1);
    return out;
}

int main(int argc, char **argv)
{
    int mode;
    size_t width, count, i;
    if (argc != 2) {
        fprintf(stderr, "usage: %s requant|short|short_any|scratch|add_rows\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "requant") == 0) {
        mode = 0;
        width = 3;
    } else if (strcmp(argv[1], "short") == 0) {
        mode = 1;
        width = 4;
    } else if (strcmp(argv[1], "short_any") == 0) {
        mode = 2;
        width = 4;
    } else if (strcmp(argv[1], "scratch") == 0) {
        mode = 3;
        width = 19;
    } else if (strcmp(argv[1], "add_rows") == 0) {
        mode = 4;
        width = 14;
    } else {
        fprintf(stderr, "unknown mode '%s'\n", argv[1]);
        return 2;
    }
    while ((count = fread(records, sizeof(int32_t) * width, CHUNK, stdin)) > 0) {
        for (i = 0; i < count; ++i) {
            const int32_t *r = records + i * width;
            if (mode == 0) {
                tg_dsp_requant_t q;
                tg_dsp_requant_prepare(&q, r[1], r[2]);
                results[i] = tg_dsp_requant(r[0], &q);
            } else if (mode == 1) {
                tg_dsp_short_t q;
                tg_dsp_short_prepare(&q, r[1], r[2], r[3]);
                results[i] = tg_dsp_short(2 * r[0], &q);
            } else if (mode == 2) {
                tg_dsp_short_t q;
                int32_t mask;
                tg_dsp_short_any_prepare(&q, &mask, r[1], r[2], r[3]);
                results[i] = tg_dsp_short_any(2 * r[0], &q, mask);
            } else if (mode == 4) {
                results[i] = add_rows(r);
            } else {
                results[i] = scratch(r);
            }
        }
        if (fwrite(results, sizeof(int32_t), count, stdout) != count) {
            return 1;
        }
    }
    return 0;
}
