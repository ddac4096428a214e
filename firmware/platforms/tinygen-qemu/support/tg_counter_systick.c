/*
 * Instruction counting on QEMU's Cortex-M machines with SysTick.
 *
 * QEMU models no cycles and no DWT->CYCCNT. Run with `-icount shift=0`, one executed
 * instruction advances virtual time by 1 ns, and SysTick (clocked from the CPU clock) moves
 * one tick per TG_INSTRUCTIONS_PER_TICK instructions: 40 on mps2-an385, an386 and an500
 * (25 MHz system clock), 50 on mps2-an505 (20 MHz) -- measured with a counted loop, see
 * docs/platformio.md. The board manifest defines TG_INSTRUCTIONS_PER_TICK. SysTick is a
 * 24-bit down-counter, so its interrupt counts wraps. Without -icount the figures are noise.
 */
#include <stdint.h>

/* The harness's port interface (tg_harness.h), declared here: this file is built by the
 * platform, outside the project's include paths. */
int tg_port_counter_start(void);
uint64_t tg_port_counter_read(void);
const char *tg_port_counter_unit(void);
void SysTick_Handler(void);

#ifndef TG_INSTRUCTIONS_PER_TICK
#error "TG_INSTRUCTIONS_PER_TICK must come from the board manifest (build.tinygen.instructions_per_tick)"
#endif

#define TG_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define TG_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define TG_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TG_SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define TG_ICSR_PENDSTSET (1u << 26)
#define TG_SYSTICK_RANGE 0x1000000u /* 24 bits */

static volatile uint32_t tg_systick_wraps;

void SysTick_Handler(void)
{
    tg_systick_wraps++;
}

int tg_port_counter_start(void)
{
    TG_SYST_CSR = 0;
    TG_SYST_RVR = TG_SYSTICK_RANGE - 1u;
    TG_SYST_CVR = 0;
    tg_systick_wraps = 0;
    TG_SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
    while (TG_SYST_CVR == 0u) {
        /* the first tick loads the reload value; it is not a wrap */
    }
    tg_systick_wraps = 0;
    return 1;
}

uint64_t tg_port_counter_read(void)
{
    uint32_t wraps, value;
    for (;;) {
        wraps = tg_systick_wraps;
        value = TG_SYST_CVR;
        const uint32_t pending = TG_SCB_ICSR & TG_ICSR_PENDSTSET;
        if (wraps != tg_systick_wraps) {
            continue; /* the wrap interrupt ran in between: read again */
        }
        if (pending && value > TG_SYSTICK_RANGE / 2u) {
            wraps++; /* wrapped, interrupt not taken yet */
        }
        break;
    }
    const uint64_t ticks = (uint64_t)wraps * TG_SYSTICK_RANGE + (TG_SYSTICK_RANGE - 1u - value);
    return ticks * (uint64_t)TG_INSTRUCTIONS_PER_TICK;
}

const char *tg_port_counter_unit(void)
{
    return "instructions";
}
