/*
 * tinygen test harness (see tg_harness.h for the output lines). Plain C99, no printf: numbers
 * are formatted here so that small boards need no stdio formatting code, and 64-bit counts
 * print everywhere.
 */
#include "tg_harness.h"

#include <stdio.h>
#include <string.h>

/* --- weak platform defaults: nothing is counted, text goes to stdout ------------------- */

__attribute__((weak)) int tg_port_counter_start(void)
{
    return 0;
}

__attribute__((weak)) uint64_t tg_port_counter_read(void)
{
    return 0;
}

__attribute__((weak)) const char *tg_port_counter_unit(void)
{
    return "none";
}

#if !defined(ARDUINO) && !defined(TG_PLATFORM_QEMU)
/* Under the Arduino framework tg_port_arduino.cpp defines it (Serial); no weak default there,
 * so that the linker pulls that file (and its setup()/loop()) out of the library archive. On the
 * QEMU platform its support/tg_port_semihost.c writes through semihosting: no reference to stdio
 * here, or newlib's stdio and malloc (about 10 KB) would be linked into every firmware. */
__attribute__((weak)) void tg_port_write(const char *text)
{
    fputs(text, stdout);
    fflush(stdout);
}
#endif

/* --- line formatting ------------------------------------------------------------------- */

/* Kept out of line: they are called from every report function (flash matters on small boards). */
#if defined(__GNUC__)
#define TG_HARNESS_OUTLINE __attribute__((noinline))
#else
#define TG_HARNESS_OUTLINE
#endif

static char tg_line[160];
static size_t tg_line_length;

TG_HARNESS_OUTLINE void tg_line_begin(void)
{
    tg_line_length = 0;
    tg_line[0] = '\0';
}

TG_HARNESS_OUTLINE void tg_line_text(const char *text)
{
    while (*text != '\0' && tg_line_length + 2 < sizeof tg_line) {
        tg_line[tg_line_length++] = *text++;
    }
    tg_line[tg_line_length] = '\0';
}

/* value / divisor and its remainder for divisor in [1, 65535] with 32-bit divisions only (a 64-bit
 * division would link libgcc's __udivmoddi4, 700 bytes): long division in 16-bit digits. */
static uint64_t tg_divide_small(uint64_t value, uint32_t divisor, uint32_t *remainder)
{
    const uint32_t high = (uint32_t)(value >> 32), low = (uint32_t)value;
    const uint32_t q1 = high / divisor, r1 = high % divisor;
    const uint32_t middle = (r1 << 16) | (low >> 16);
    const uint32_t q2 = middle / divisor, r2 = middle % divisor;
    const uint32_t bottom = (r2 << 16) | (low & 0xFFFFu);
    const uint32_t q3 = bottom / divisor;
    *remainder = bottom % divisor;
    return ((uint64_t)q1 << 32) + ((uint64_t)q2 << 16) + q3;
}

TG_HARNESS_OUTLINE void tg_line_u64(uint64_t value)
{
    char digits[21];
    size_t n = sizeof digits - 1;
    uint32_t digit;
    digits[n] = '\0';
    do {
        value = tg_divide_small(value, 10u, &digit);
        digits[--n] = (char)('0' + (int)digit);
    } while (value != 0u);
    tg_line_text(&digits[n]);
}

TG_HARNESS_OUTLINE void tg_line_i32(int32_t value)
{
    if (value < 0) {
        tg_line_text("-");
        tg_line_u64((uint64_t)(-(int64_t)value));
    } else {
        tg_line_u64((uint64_t)value);
    }
}

TG_HARNESS_OUTLINE void tg_line_end(void)
{
    tg_line_text("\n");
    tg_port_write(tg_line);
}

/* --- the run --------------------------------------------------------------------------- */

static struct {
    unsigned samples;
    unsigned failed;
    int counting;
    uint64_t started;      /* counter at the start of the current sample */
    uint64_t sample_count; /* count of the current sample */
    uint64_t total;        /* sum over samples */
    int sample_failed;
    uint64_t *layer_counts;
    unsigned layers;
    uint64_t layer_started;
} tg_run;

void tg_harness_begin(const char *model, unsigned samples, uint64_t *layer_counts, unsigned layers)
{
    memset(&tg_run, 0, sizeof tg_run);
    tg_run.samples = samples;
    tg_run.layer_counts = layer_counts;
    tg_run.layers = layer_counts != NULL ? layers : 0u;
    if (layer_counts != NULL) {
        memset(layer_counts, 0, layers * sizeof layer_counts[0]);
    }
    tg_run.counting = tg_port_counter_start();
    tg_line_begin();
    tg_line_text("TG_BEGIN model=");
    tg_line_text(model);
    tg_line_text(" samples=");
    tg_line_u64(samples);
    tg_line_text(" layers=");
    tg_line_u64(layers);
    tg_line_text(" counter=");
    tg_line_text(tg_run.counting ? tg_port_counter_unit() : "none");
    tg_line_end();
}

void tg_harness_sample_begin(unsigned index)
{
    (void)index;
    tg_run.sample_failed = 0;
    tg_run.started = tg_port_counter_read();
}

void tg_harness_sample_end(unsigned index)
{
    (void)index;
    tg_run.sample_count = tg_port_counter_read() - tg_run.started;
    tg_run.total += tg_run.sample_count;
}

int tg_harness_check(unsigned index, const char *output, const int8_t *got, const int8_t *expected, size_t size)
{
    size_t i;
    for (i = 0; i < size; ++i) {
        if (got[i] != expected[i]) {
            tg_run.sample_failed = 1;
            tg_line_begin();
            tg_line_text("TG_MISMATCH sample=");
            tg_line_u64(index);
            tg_line_text(" output=");
            tg_line_text(output);
            tg_line_text(" index=");
            tg_line_u64(i);
            tg_line_text(" expected=");
            tg_line_i32(expected[i]);
            tg_line_text(" got=");
            tg_line_i32(got[i]);
            tg_line_end();
            return 0;
        }
    }
    return 1;
}

void tg_harness_sample_report(unsigned index)
{
    tg_run.failed += tg_run.sample_failed ? 1u : 0u;
    tg_line_begin();
    tg_line_text("TG_SAMPLE index=");
    tg_line_u64(index);
    tg_line_text(tg_run.sample_failed ? " status=FAIL" : " status=PASS");
    if (tg_run.counting) {
        tg_line_text(" ");
        tg_line_text(tg_port_counter_unit());
        tg_line_text("=");
        tg_line_u64(tg_run.sample_count);
    }
    tg_line_end();
}

int tg_harness_finish(void)
{
    const uint32_t samples = tg_run.samples > 0u && tg_run.samples <= 65535u ? tg_run.samples : 1u;
    uint32_t rest;
    unsigned layer;
    if (tg_run.counting) {
        for (layer = 0; layer < tg_run.layers; ++layer) {
            tg_line_begin();
            tg_line_text("TG_LAYER index=");
            tg_line_u64(layer);
            tg_line_text(" ");
            tg_line_text(tg_port_counter_unit());
            tg_line_text("=");
            tg_line_u64(tg_divide_small(tg_run.layer_counts[layer], samples, &rest));
            tg_line_end();
        }
    }
    tg_line_begin();
    tg_line_text(tg_run.failed == 0u ? "TG_RESULT status=PASS" : "TG_RESULT status=FAIL");
    tg_line_text(" samples=");
    tg_line_u64(tg_run.samples);
    tg_line_text(" failed=");
    tg_line_u64(tg_run.failed);
    if (tg_run.counting) {
        tg_line_text(" ");
        tg_line_text(tg_port_counter_unit());
        tg_line_text("=");
        tg_line_u64(tg_divide_small(tg_run.total, samples, &rest));
    }
    tg_line_end();
    tg_port_write(tg_run.failed == 0u ? "PASS\n" : "FAIL\n");
    return tg_run.failed == 0u ? 0 : 1;
}

/* --- per-layer hooks ------------------------------------------------------------------- */

void tg_profile_layer_begin(int index)
{
    (void)index;
    tg_run.layer_started = tg_port_counter_read();
}

void tg_profile_layer_end(int index)
{
    if (index >= 0 && (unsigned)index < tg_run.layers) {
        tg_run.layer_counts[index] += tg_port_counter_read() - tg_run.layer_started;
    }
}
