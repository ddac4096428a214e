/*
 * Startup code for the QEMU MPS2 Cortex-M machines (mps2-an385/386/500/505), bare metal with
 * newlib and semihosting (librdimon): vector table, FPU enable, .data copy, .bss zero,
 * semihosting handles (when stdio is linked), then exit with main()'s status through semihosting.
 * A fault prints one line through semihosting and makes QEMU exit with a failure status, so a
 * crashed firmware never hangs a test run.
 *
 * Linked with -nostartfiles --specs=rdimon.specs and the linker script in this folder
 * (newlib's rdimon-crt0 would put the stack outside the RAM the script describes).
 */
#include <stdint.h>

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__, __stack_top__;
extern int main(void);
/* Weak: linked (and called) only when the firmware uses newlib's stdio, whose semihosting file
 * handles it sets up; the harness itself writes through tg_port_semihost.c. */
extern void initialise_monitor_handles(void) __attribute__((weak));
extern void __libc_init_array(void);

void Reset_Handler(void);
void tg_fault_handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("tg_unused_handler")));
void tg_unused_handler(void);

/* The 16 Cortex-M system exceptions; the harness needs no external interrupts. */
__attribute__((section(".vectors"), used)) static void (*const tg_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top__,
    Reset_Handler,
    tg_fault_handler, /* NMI */
    tg_fault_handler, /* HardFault */
    tg_fault_handler, /* MemManage */
    tg_fault_handler, /* BusFault */
    tg_fault_handler, /* UsageFault */
    tg_fault_handler, /* SecureFault (v8-M) */
    0,
    0,
    0,
    tg_fault_handler, /* SVCall */
    tg_fault_handler, /* DebugMonitor */
    0,
    tg_fault_handler, /* PendSV */
    SysTick_Handler,
};

/* Semihosting call: operation in r0, argument in r1, result in r0. */
static uint32_t tg_semihost(uint32_t operation, const void *argument)
{
    register uint32_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab"
                     : "+r"(r0)
                     : "r"(r1)
                     : "memory");
    return r0;
}

void tg_fault_handler(void)
{
    static const uint32_t exit_block[2] = {0x20023u /* ADP_Stopped_RunTimeErrorUnknown */, 70u};
    tg_semihost(0x04u /* SYS_WRITE0 */, "tinygen: unexpected exception (fault), stopping\n");
    tg_semihost(0x20u /* SYS_EXIT_EXTENDED */, exit_block);
    tg_semihost(0x18u /* SYS_EXIT */, (const void *)(uintptr_t)0x20023u);
    for (;;) {
    }
}

void tg_unused_handler(void)
{
}

/* The end of the program: QEMU exits with `status` (SYS_EXIT_EXTENDED, ADP_Stopped_ApplicationExit).
 * Not newlib's exit(): its stdio cleanup would link the C library's reentrancy data into every
 * firmware; files are closed by the code that opens them (tg_batch.c). */
static void tg_exit(int status)
{
    const uint32_t exit_block[2] = {0x20026u, (uint32_t)status};
    tg_semihost(0x20u /* SYS_EXIT_EXTENDED */, exit_block);
    for (;;) {
    }
}

/* __libc_init_array and __libc_fini_array call these; crti.o is not linked (-nostartfiles). */
void _init(void)
{
}

void _fini(void)
{
}

/* Plain word loops: no memcpy/memset calls (the C library is not set up yet). */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CPACR: full access to coprocessors 10 and 11 (the FPU) before any float instruction. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::
                         : "memory");
#endif
    const uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    if (initialise_monitor_handles) {
        initialise_monitor_handles();
    }
    __libc_init_array();
    tg_exit(main());
}
