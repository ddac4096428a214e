"""tinygen/stack.py: naked assembly functions' frames. GCC's -fstack-usage gives a naked function 0 bytes
(it writes no prologue), though the kernels' whole-loop assembly pushes registers and reserves locals
itself; the measurement reads those from the disassembly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygen import stack

DISASSEMBLY = """
00000000 <leaf>:
   0:	4770      	bx	lr

00000002 <naked>:
   2:	6a41      	ldr	r1, [r0, #36]	@ 0x24
   4:	e92d 4ff7 	stmdb	sp!, {r0, r1, r2, r4, r5, r6, r7, r8, r9, sl, fp, lr}
   8:	b093      	sub	sp, #76	@ 0x4c
   a:	ed2d 8b04 	vpush	{d8-d9}
   e:	b013      	add	sp, #76	@ 0x4c
  10:	b082      	sub	sp, #8
  12:	e8bd 8ff7 	ldmia.w	sp!, {r0, r1, r2, r4, r5, r6, r7, r8, r9, sl, fp, pc}

00000016 <pushes_r4_lr>:
  16:	b510      	push	{r4, lr}
  18:	bd10      	pop	{r4, pc}
"""


def test_naked_frames_sum_the_prologue() -> None:
    # 12 registers (48) + 76 reserved + 2 double registers (16); what follows the first give-back is not prologue
    assert stack.naked_frames(DISASSEMBLY) == {"leaf": 0, "naked": 48 + 76 + 16, "pushes_r4_lr": 8}
    graph = ('node: { title: "k.c:naked" label: "naked\\nk.c:1:1\\n0 bytes (static)" }\n'
             'node: { title: "leaf" label: "leaf\\nk.c:2:1\\n0 bytes (static)" }\n')
    patched = stack.with_frames(graph, stack.naked_frames(DISASSEMBLY))
    assert "naked\\nk.c:1:1\\n140 bytes (static)" in patched and "leaf\\nk.c:2:1\\n0 bytes (static)" in patched


NAKED_MODEL = b"""
#include <stdint.h>
/* pushes 9 registers and reserves 64 bytes: 100 bytes GCC does not see */
__attribute__((naked, noinline)) static void t_loop(int32_t *x)
{
    __asm__ volatile("push {r4-r11, lr}\\n sub sp, #64\\n str r0, [sp]\\n add sp, #64\\n pop {r4-r11, pc}\\n");
}
void t_run(int32_t *x)
{
    t_loop(x);
}
"""


@pytest.mark.skipif(stack.toolchain() is None, reason="arm-none-eabi-gcc is installed by `make setup`")
def test_the_worst_case_counts_a_naked_functions_pushes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))
    report = stack.measure_files({"lib/t/t.c": NAKED_MODEL}, "t", [])
    assert report is not None
    assert report.deepest[-1].endswith("t_loop") and report.model_bytes >= 100, report
