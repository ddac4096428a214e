/*
 * Hand-timed code for the per-core timing tables (tests/platformio/test_cycles.py): the same ARMv7-M
 * code runs on the QEMU machine of each core and is timed with that core's table
 * (tinygen/platformio/cycles.py). Each case starts at its label (a new translation block) and ends
 * with a branch to the next case (the next instruction: not taken). The comments give the cycles per
 * core, M4 / M3 / M33 / M7; P = 2 (M3, M4) or 1 (M33, M7) per taken branch.
 * RAM is the machine's RAM base (-DRAM=...), linked at its flash base.
 */
    .syntax unified
    .cpu cortex-m3
    .thumb
#ifndef RAM
#define RAM 0x20000000
#endif
    .equ buffer, RAM + 0x100

    .text
    .word RAM + 0x10000         /* initial stack */
    .word reset + 1

    .thumb_func
reset:
    b case_mul

    .thumb_func
case_mul:                       /*   M4   M3  M33   M7 (M7: pairs marked +) */
    movs r2, #3                 /*    1    1    1    1 */
    movs r3, #5                 /*    1    1    1    0 + pairs with the movs before */
    mla r1, r2, r3, r1          /*    1    2    1    1 */
    mls r1, r2, r3, r1          /*    1    2    1    1   (one multiplier: no pair) */
    smull r4, r5, r2, r3        /*    1    5    1    1 */
    umlal r4, r5, r2, r3        /*    1    7    1    1 */
    b case_mem                  /*    1    1    1    0 + */
                                /* =  7   19    7    5 */
    .thumb_func
case_mem:
    ldr r1, =buffer             /*    2    2    1    1 */
    ldr r2, [r1]                /*    2    2    1    2   (M4: r1 forms the address; M7: load-use) */
    ldr r3, [r1, #4]            /*    1    1    1    1   (M3/M4: pipelined) */
    str r2, [r1, r3]            /*    2    2    1    2   (register offset after a load of r3) */
    adds r1, r1, #4             /*    1    1    1    1 */
    ldr r4, [r1]                /*    3    3    2    2   (address from the add: +1) */
    adds r5, r4, #1             /*    1    1    1    2   (M7: load-use) */
    ldm r1, {r2, r3, r4, r5}    /*    5    5    5    3   (M7: 2 words per cycle) */
    b case_pairs                /*    1    1    1    1 */
                                /* = 18   18   14   15 */
    .thumb_func
case_pairs:                     /* M3/M4 1 + 4 x 4 + 3 x 2 + 1 = 24; M33 1 + 16 + 3 + 1 = 21 */
    movs r0, #4                 /* M7: the first block (movs + adds, eors + subs, bne) 3, */
1:  adds r1, r1, r2             /* the loop block (adds + eors, subs + bne) 2 three times, */
    eors r3, r3, r4             /* 3 x P = 3, the branch out 1: 13 */
    subs r0, r0, #1
    bne 1b
    b case_end

    .thumb_func
case_end:
    movs r0, #0x18              /* SYS_EXIT */
    ldr r1, =0x20026            /* ADP_Stopped_ApplicationExit */
    bkpt 0xab
    b .
    .ltorg
