/*
 * The harness's console on QEMU's Cortex-M machines: tg_port_write through semihosting SYS_WRITE0,
 * which QEMU prints on its stdout. (The harness's weak default goes through the C library's stdio,
 * which would link newlib's stdio, malloc and semihosting file handles, about 12 KB of flash, into
 * every firmware; a firmware that uses stdio itself, such as the batch runner, still may.)
 */

/* The harness's port interface (tg_harness.h), declared here: this file is built by the platform,
 * outside the project's include paths. */
void tg_port_write(const char *text);

void tg_port_write(const char *text)
{
    register unsigned operation __asm__("r0") = 0x04u; /* SYS_WRITE0: a NUL-terminated string */
    register const char *argument __asm__("r1") = text;
    __asm__ volatile("bkpt 0xab"
                     : "+r"(operation)
                     : "r"(argument)
                     : "memory");
}
