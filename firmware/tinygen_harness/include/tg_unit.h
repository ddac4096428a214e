/*
 * A minimal unit-test reporter for the generated test/ folder. It prints what PlatformIO's
 * Unity runner parses ("<file>:<line>:<name>:PASS|FAIL[: message]" and the closing
 * "<n> Tests <n> Failures <n> Ignored" line), so `pio test` works offline with the custom
 * runner in test/test_custom_runner.py and needs no Unity download.
 */
#ifndef TG_UNIT_H
#define TG_UNIT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Run one test function; it reports failure through TG_UNIT_ASSERT / tg_unit_fail. */
void tg_unit_run(void (*test)(void), const char *name, const char *file, int line);
/* Mark the running test failed at `line` with a message. */
void tg_unit_fail(int line, const char *message);
/* Mark the running test ignored (e.g. a check that does not apply to this model). */
void tg_unit_ignore(int line, const char *message);
/* Print the summary; returns the exit status (0 if nothing failed). */
int tg_unit_end(void);

#ifdef __cplusplus
}
#endif

#define TG_UNIT_RUN(test, file) tg_unit_run(test, #test, file, __LINE__)
#define TG_UNIT_ASSERT(condition, message)   \
    do {                                     \
        if (!(condition)) {                  \
            tg_unit_fail(__LINE__, message); \
            return;                          \
        }                                    \
    } while (0)

#endif /* TG_UNIT_H */
