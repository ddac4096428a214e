/* Test driver for firmware/tinygen_kernels/include/tg_requant.h (tests/kernels/test_requant.py).
 *
 * Usage: requant_driver MODE < records > results
 *   MODE "requantize": records are int32 triples (x, multiplier, shift) -> tg_requantize
 *   MODE "divide":     records are int32 pairs (x, exponent)            -> tg_divide_by_power_of_two
 *   MODE "high_mul":   records are int32 pairs (a, b)                   -> tg_doubling_high_mul
 * Records are native-endian int32; one int32 result is written per record. The test builds this
 * file with AddressSanitizer and UndefinedBehaviorSanitizer (-fno-sanitize-recover=all), so an
 * argument that makes the header's arithmetic undefined aborts the run instead of passing.
 */
#include <stdio.h>
#include <string.h>

#include "tg_requant.h"

#define CHUNK 4096

static int32_t records[CHUNK * 3];
static int32_t results[CHUNK];

int main(int argc, char **argv)
{
    int32_t width;
    int mode;
    size_t count, i;
    if (argc != 2) {
        fprintf(stderr, "usage: %s requantize|divide|high_mul\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "requantize") == 0) {
        mode = 0;
        width = 3;
    } else if (strcmp(argv[1], "divide") == 0) {
        mode = 1;
        width = 2;
    } else if (strcmp(argv[1], "high_mul") == 0) {
        mode = 2;
        width = 2;
    } else {
        fprintf(stderr, "unknown mode '%s'\n", argv[1]);
        return 2;
    }
    while ((count = fread(records, sizeof(int32_t) * (size_t)width, CHUNK, stdin)) > 0) {
        for (i = 0; i < count; ++i) {
            const int32_t *r = records + i * (size_t)width;
            if (mode == 0) {
                results[i] = tg_requantize(r[0], r[1], r[2]);
            } else if (mode == 1) {
                results[i] = tg_divide_by_power_of_two(r[0], r[1]);
            } else {
                results[i] = tg_doubling_high_mul(r[0], r[1]);
            }
        }
        if (fwrite(results, sizeof(int32_t), count, stdout) != count) {
            return 3;
        }
    }
    if (ferror(stdin)) {
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 3;
}
