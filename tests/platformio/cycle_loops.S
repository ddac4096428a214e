/*
 * Hand-timed code for tests/platformio/test_cycles.py: each case starts at its label (entered by
 * a branch, so it starts a translation block) and ends with a branch to the next case; the
 * comments give the Cortex-M4 TRM cycles the estimate must reproduce (P = 2 per taken branch).
 * Runs bare on QEMU mps2-an386 and exits through semihosting.
 */
    .syntax unified
    .cpu cortex-m4
    .thumb
    .equ buffer, 0x20000100

    .text                       /* linked at 0: the vector table (stack, reset) comes first */
    .word 0x20010000
    .word reset + 1

    .thumb_func
reset:
    movs r2, #3
    b case_alu

    .thumb_func
case_alu:                       /* 1 + 10 x 4 + 9 x P = 59 */
    movs r0, #10                /* 1 */
1:  adds r1, r1, r2             /* 1 */
    eors r3, r3, r1             /* 1 */
    subs r0, r0, #1             /* 1 */
    bne 1b                      /* 1, + P when taken (9 times) */
    b case_loads                /* 1 (to the next instruction: not taken) -> 59 + 1 = 60 */

    .thumb_func
case_loads:                     /* 13 */
    ldr r1, =buffer             /* 2: first of its block */
    ldr r2, [r1]                /* 2: the previous load wrote its address register */
    ldr r3, [r1, #4]            /* 1: pipelined */
    ldr r4, [r1, #8]            /* 1 */
    ldr r5, [r1, #12]           /* 1 */
    str r2, [r1, #16]           /* 1: immediate offset */
    adds r1, r1, #4             /* 1 */
    ldr r6, [r1]                /* 2 + 1: address from the previous data-processing result */
    b case_multi                /* 1 */

    .thumb_func
case_multi:                     /* 22 */
    ldr r1, =buffer             /* 2 */
    ldm r1, {r2, r3, r4, r5}    /* 1 + 4 */
    stmia r1!, {r2, r3}         /* 1 + 2 */
    ldrd r2, r3, [r1]           /* 3 */
    push {r4, r5, lr}           /* 1 + 3 */
    pop {r4, r5, lr}            /* 1 + 3 */
    b case_mac                  /* 1 */

    .thumb_func
case_mac:                       /* 1 + 4 x 4 + 3 x P + 1 = 24 */
    movs r0, #4
1:  smlad r1, r2, r3, r1
    smlad r1, r4, r5, r1
    subs r0, r0, #1
    bne 1b
    b case_page

    .thumb_func
case_page:                      /* 2 + 1 + P + 2 + 1 + 1 + 1 + 1 = 11 */
    ldr r1, =buffer             /* 2 */
    b 2f                        /* 1 + P */
    .org 0x3f8                  /* a chain of loads across the 1 KB boundary, where QEMU ends a block */
2:  ldr.w r2, [r1]              /* 2: first after a taken branch */
    ldr.w r3, [r1, #4]          /* 1: pipelined */
    ldr.w r4, [r1, #8]          /* 1: at 0x400, the next block's first instruction, still pipelined */
    ldr.w r5, [r1, #12]         /* 1 */
    b case_end                  /* 1 */

    .thumb_func
case_end:
    movs r0, #0x18              /* SYS_EXIT */
    ldr r1, =0x20026            /* ADP_Stopped_ApplicationExit */
    bkpt 0xab
    b .
    .ltorg
