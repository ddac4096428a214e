/*
 * tinygen test harness: what a generated src/main.c and test/ call to run a model on test
 * vectors, compare its outputs with the golden ones and report, one machine-readable line per
 * fact:
 *
 *   TG_BEGIN model=<name> samples=<n> layers=<n> counter=<instructions|none>
 *   TG_SAMPLE index=<i> status=<PASS|FAIL> [instructions=<n>]
 *   TG_MISMATCH sample=<i> output=<name> index=<flat index> expected=<q> got=<q>
 *   TG_LAYER index=<layer> instructions=<mean per inference>
 *   TG_RESULT status=<PASS|FAIL> samples=<n> failed=<n> [instructions=<mean per inference>]
 *   PASS | FAIL
 *
 * Counting is the platform's business (the tg_port_* functions below). The QEMU platform
 * counts executed instructions with SysTick under `-icount shift=0`; elsewhere the weak
 * defaults in tg_harness.c report that nothing is counted.
 */
#ifndef TG_HARNESS_H
#define TG_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- what a platform may provide (weak defaults in tg_harness.c) ----------------------- */

/* Start the counter; 1 if the platform can count, 0 if not. */
int tg_port_counter_start(void);
/* The count since the start (monotonic, 64-bit). */
uint64_t tg_port_counter_read(void);
/* What is counted, e.g. "instructions". */
const char *tg_port_counter_unit(void);
/* Write text (a whole line or part of one) to the console. */
void tg_port_write(const char *text);

/* --- the program the generated code provides ------------------------------------------ */

/* The harness (src/main.c) or the unit tests (test/): returns the exit status. */
int tg_app_main(void);

/* --- the harness ----------------------------------------------------------------------- */

/* Begin a run of `samples` inferences. `layer_counts` (zeroed by the harness) collects the
 * per-layer counts of the TG_LAYER_BEGIN/END hooks; it may be NULL. */
void tg_harness_begin(const char *model, unsigned samples, uint64_t *layer_counts, unsigned layers);
void tg_harness_sample_begin(unsigned index);
void tg_harness_sample_end(unsigned index);
/* Compare one output of the current sample; prints the first mismatch. Returns 1 if equal. */
int tg_harness_check(unsigned index, const char *output, const int8_t *got, const int8_t *expected,
                     size_t size);
/* Print the TG_SAMPLE line of a sample after its checks. */
void tg_harness_sample_report(unsigned index);
/* Print the per-layer and result lines; returns the exit status (0 = every sample passed). */
int tg_harness_finish(void);

/* Formatting helpers (no printf needed): append text or a number to a line buffer. */
void tg_line_begin(void);
void tg_line_text(const char *text);
void tg_line_u64(uint64_t value);
void tg_line_i32(int32_t value);
void tg_line_end(void);

/* The per-layer hooks (see tg_profile.h). */
void tg_profile_layer_begin(int index);
void tg_profile_layer_end(int index);

#ifdef __cplusplus
}
#endif

#endif /* TG_HARNESS_H */
