"""The estimated-cycle counter (tinygen/platformio/cycles.py): hand-timed assembly under QEMU gives
exactly the Cortex-M4 TRM arithmetic written beside it; the trace parser keeps only what ran
(rewound and abandoned blocks); `tinygen bench` reports cycles per inference and per layer."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import pytest

from tinygen.platformio import cycles

from ..conftest import model_file

HERE = Path(__file__).resolve().parent
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                               reason="arm-none-eabi-gcc and qemu-system-arm are installed by `make setup`")
QEMU = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel"]
# case -> (cycles, instructions) from the comments in cycle_loops.S
EXPECTED = {"case_alu": (60, 42), "case_loads": (13, 9), "case_multi": (22, 7), "case_mac": (24, 18),
            "case_page": (11, 7)}


@needs_arm
def test_hand_timed_loops(tmp_path: Path) -> None:
    elf = tmp_path / "loops.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-Wl,-Ttext=0",
                    "-Wl,--entry=0", str(HERE / "cycle_loops.S"), "-o", str(elf)], check=True, capture_output=True)
    trace = cycles.trace_firmware([*QEMU, str(elf)], elf, [*EXPECTED, "case_end"])
    marks = trace.marks
    measured = {label: ((after - before).cycles, (after - before).instructions)
                for (label, before), (_, after) in itertools.pairwise(marks)}
    assert measured == EXPECTED


# core -> (QEMU machine, flash base, RAM base, {case: (cycles, instructions)} from cycle_loops_cores.S)
CORE_CASES = {
    "cortex-m4": ("mps2-an386", 0x0, 0x20000000, {"case_mul": (7, 7), "case_mem": (18, 9), "case_pairs": (24, 18)}),
    "cortex-m3": ("mps2-an385", 0x0, 0x20000000, {"case_mul": (19, 7), "case_mem": (18, 9), "case_pairs": (24, 18)}),
    "cortex-m33": ("mps2-an505", 0x10000000, 0x38000000,
                   {"case_mul": (7, 7), "case_mem": (14, 9), "case_pairs": (21, 18)}),
    "cortex-m7": ("mps2-an500", 0x0, 0x20000000, {"case_mul": (5, 7), "case_mem": (15, 9), "case_pairs": (13, 18)}),
}


@needs_arm
@pytest.mark.parametrize("core", list(CORE_CASES))
def test_hand_timed_loops_per_core(tmp_path: Path, core: str) -> None:
    """The same code on each core's machine, timed with its table: the cases where the tables differ (the M3's
    multiplies, the M33's single-cycle loads and shorter refill, the M7's pairs, load-use stalls and 64-bit
    LDM) give the arithmetic written beside them."""
    machine, flash, ram, expected = CORE_CASES[core]
    elf = tmp_path / "loops.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-nostdlib", f"-DRAM={ram:#x}",
                    f"-Wl,-Ttext={flash:#x}", f"-Wl,--entry={flash:#x}", str(HERE / "cycle_loops_cores.S"), "-o",
                    str(elf)], check=True, capture_output=True)
    command = [*QEMU[:2], machine, *QEMU[3:], str(elf)]
    trace = cycles.trace_firmware(command, elf, [*expected, "case_end"], cycles.core_for(core))
    measured = {label: ((after - before).cycles, (after - before).instructions)
                for (label, before), (_, after) in itertools.pairwise(trace.marks)}
    assert measured == expected


def test_cores_by_env() -> None:
    """Each qemu env's -mcpu selects its core's table, and bench names the model it used."""
    from tinygen.bench import cycle_model
    from tinygen.platformio.envs import env_named

    assert {name: cycles.core_for(env_named(name).cpu).name for name in ("qemu_m3", "qemu_m4", "qemu_m7", "qemu_m33")} \
        == {"qemu_m3": "cortex-m3", "qemu_m4": "cortex-m4", "qemu_m7": "cortex-m7", "qemu_m33": "cortex-m33"}
    assert cycle_model(env_named("qemu_m4")).startswith("Cortex-M4 TRM timings, zero wait states, taken branch 1 + 2")
    assert "dual issue" in cycle_model(env_named("qemu_m7"))


def test_mnemonic_classes() -> None:
    assert [cycles.base_mnemonic(m) for m in ("ldr.w", "movne", "adds", "bls", "blt", "lsls", "ldrbeq", "vldr.64",
                                              "vmla.f32", "smlad", "bxeq", "muls")] == [
        "ldr", "mov", "add", "b", "b", "lsl", "ldrb", "vldr", "vmla", "smlad", "bx", "mul"]


def _insn(address: int, mnemonic: str, operands: str) -> cycles.Insn:
    return cycles.Insn(address, 4, mnemonic, operands)


def test_block_costs_of_the_other_classes() -> None:
    block = cycles.block_cost([_insn(0, "vldr", "d0, [r0]"), _insn(4, "vldr", "s2, [r0, #8]"),
                               _insn(8, "vmla", "s0, s1, s2"), _insn(12, "sdiv", "r0, r1, r2"),
                               _insn(16, "vmov", "r0, r1, d0"), _insn(20, "pop", "{r4, pc}")])
    assert (block.cycles, block.insns, block.ends_in_branch) == (3 + 2 + 3 + 7 + 2 + 3, 6, True)
    assert block.cut_at(12).cycles == 8 and block.cut_at(12).fallthrough == 12


def test_trace_keeps_only_what_ran() -> None:
    """A block rewound at an I/O access counts up to it; one logged and then abandoned not at all;
    a taken branch into another block costs P."""
    log = """IN: f
0x00000010:  6808       ldr      r0, [r1]
0x00000012:  6849       ldr      r1, [r1, #4]
0x00000014:  e7fc       b        #0x10

Trace 0: 0x7f0000000100 [00000000/00000010/00000110/ff020200] f
Trace 0: 0x7f0000000100 [00000000/00000010/00000110/ff020200] f
cpu_io_recompile: rewound execution of TB to 00000012
Trace 0: 0x7f0000000100 [00000000/00000010/00000110/ff020200] f
Stopped execution of TB chain before 0x7f0000000100 [00000010] f
""".splitlines(keepends=True)
    trace = cycles.count_cycles(cycles.trace_blocks(iter(log)), {})
    # first run: 2 + 1 (pipelined: the first load wrote r0, not the address register r1) + 1 = 4;
    # the second, rewound after the first load: 2, after a taken branch (+P); the third never ran
    assert (trace.total.instructions, trace.total.cycles, trace.total.taken_branches) == (4, 4 + 2 + cycles.P, 1)


@needs_arm
def test_bench_reports_cycles(tmp_path: Path) -> None:
    import tinygen
    from tinygen.bench import run

    model = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "ad")
    result = run(model.out_dir, "qemu_m4", repeat=1)
    assert result.cycles is not None and result.instructions < result.cycles < 2 * result.instructions
    layered = [layer for layer in result.layers if layer.kernel]
    assert all(layer.cycles and layer.cycles > layer.instructions for layer in layered)
    assert sum(layer.cycles or 0 for layer in layered) < result.cycles
