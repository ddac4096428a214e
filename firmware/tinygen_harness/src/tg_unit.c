/* The unit-test reporter of tg_unit.h. */
#include "tg_unit.h"

#include "tg_harness.h"

static struct {
    unsigned tests;
    unsigned failures;
    unsigned ignored;
    int outcome; /* 0 pass, 1 fail, 2 ignore */
    int line;
    const char *message;
} tg_unit;

static void tg_unit_report(const char *file, int line, const char *name, const char *status, const char *message)
{
    tg_line_begin();
    tg_line_text(file);
    tg_line_text(":");
    tg_line_i32(line);
    tg_line_text(":");
    tg_line_text(name);
    tg_line_text(":");
    tg_line_text(status);
    if (message != NULL) {
        tg_line_text(": ");
        tg_line_text(message);
    }
    tg_line_end();
}

void tg_unit_run(void (*test)(void), const char *name, const char *file, int line)
{
    tg_unit.outcome = 0;
    tg_unit.line = line;
    tg_unit.message = NULL;
    test();
    tg_unit.tests++;
    if (tg_unit.outcome == 1) {
        tg_unit.failures++;
        tg_unit_report(file, tg_unit.line, name, "FAIL", tg_unit.message);
    } else if (tg_unit.outcome == 2) {
        tg_unit.ignored++;
        tg_unit_report(file, tg_unit.line, name, "IGNORE", tg_unit.message);
    } else {
        tg_unit_report(file, line, name, "PASS", NULL);
    }
}

void tg_unit_fail(int line, const char *message)
{
    tg_unit.outcome = 1;
    tg_unit.line = line;
    tg_unit.message = message;
}

void tg_unit_ignore(int line, const char *message)
{
    tg_unit.outcome = 2;
    tg_unit.line = line;
    tg_unit.message = message;
}

int tg_unit_end(void)
{
    tg_port_write("\n-----------------------\n");
    tg_line_begin();
    tg_line_u64(tg_unit.tests);
    tg_line_text(" Tests ");
    tg_line_u64(tg_unit.failures);
    tg_line_text(" Failures ");
    tg_line_u64(tg_unit.ignored);
    tg_line_text(" Ignored");
    tg_line_end();
    tg_port_write(tg_unit.failures == 0u ? "OK\n" : "FAIL\n");
    return tg_unit.failures == 0u ? 0 : 1;
}
