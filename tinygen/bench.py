"""Instruction-count benchmark of a compiled model on an emulated Cortex-M (`tinygen bench`).

One inference of the model's `<name>_run` on QEMU's Cortex-M4/M7/M33 machines, counted as executed
guest instructions (SysTick under `-icount shift=0`, see docs/platformio.md), on one fixed input:
`numpy.random.default_rng(1234).integers(-128, 128, size=shape, dtype=numpy.int8)` per model input,
in tinygen's storage layout (channels last: TFLite's NHWC shape, the recipe of the published
TFLM + CMSIS-NN figures in bench/results.md). The firmware also checks its output against the golden
reference, so a benchmark of wrong code fails.

The benchmark builds two firmwares in OUT/.tinygen/bench/: `<env>/`, the harness as `tinygen build`
makes it, with the per-layer counter hooks (TG_LAYER_BEGIN/END, tg_profile.h) for the per-layer
figures, and `<env>-deploy/`, the same without the hooks -- the firmware as deployed -- for the
instructions per inference and the flash and RAM figures. Both hold the compiled model's libraries and
a harness whose single test vector is the benchmark input. Figures are deterministic: each firmware
runs twice and both runs must agree to the instruction.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BuildError, TinygenError
from .model import CompiledModel

SEED = 1234
BENCH_DIR = Path(".tinygen") / "bench"
INPUT_SECTION = re.compile(r"^ (\.\S+|COMMON)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
INPUT_SECTION_NAME = re.compile(r"^ (\.\S+|COMMON)\s*$")
CONTINUATION = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
VECTORS_OBJECT = r"[/\\]src[/\\][^/\\]*_vectors\.c?\.?o$"  # src/<name>_vectors.o (or .c.o)


@dataclass
class LayerFigures:
    index: int
    name: str
    op: str
    kernel: str  # the C kernel (variant) the layer calls; "" for layers without code (reshape)
    macs: int
    instructions: int
    cycles: int | None = None  # estimated Cortex-M4 cycles (platformio/cycles.py), from the traced run


@dataclass
class BenchResult:
    model: str
    target: str
    qemu_machine: str
    instructions: int  # one <name>_run call (input copy, every layer, output copy), no profiling hooks
    macs: int
    arena_bytes: int
    flash_bytes: int  # the whole firmware without the harness's test vectors
    ram_bytes: int  # static RAM (data + bss, arena included; no stack, no heap)
    weights_bytes: int  # int8 weights and int32 biases
    constants_bytes: int  # every constant array of the model (weights, biases, requantization, tables)
    vectors_bytes: int  # the harness's embedded test vector (excluded from flash_bytes)
    flash_by_component: dict[str, int]
    ram_by_component: dict[str, int]
    layers: list[LayerFigures]  # counted by the profiled firmware
    runs: list[int] = field(default_factory=list)
    profiled_instructions: int = 0  # per inference with the per-layer counter hooks
    cycles: int | None = None  # estimated cycles per inference (None: not estimated, --no-cycles)
    cycle_model: str = ""  # what the estimate assumes

    @property
    def cycles_per_instruction(self) -> float:
        return self.cycles / self.instructions if self.cycles and self.instructions else 0.0

    @property
    def macs_per_instruction(self) -> float:
        return self.macs / self.instructions if self.instructions else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["macs_per_instruction"] = round(self.macs_per_instruction, 4)
        data["instructions_per_mac"] = round(self.instructions / self.macs, 4) if self.macs else None
        data["macs_per_cycle"] = round(self.macs / self.cycles, 4) if self.cycles and self.macs else None
        data["deterministic"] = len(set(self.runs)) == 1
        return data


def bench_inputs(model: CompiledModel) -> list[np.ndarray]:
    """The benchmark input of every model input, (1, *shape[1:]) in tinygen's storage layout and the input's
    type (int8, or int16 with 16x8 activations: the same draw, scaled to int16)."""
    rng = np.random.default_rng(SEED)
    draws = [rng.integers(-128, 128, size=(1, *io["shape"][1:]), dtype=np.int8) for io in model.inputs]
    return [x if io.get("dtype", "int8") == "int8" else (x.astype(np.int16) * 256)
            for io, x in zip(model.inputs, draws, strict=True)]


def vectors_bytes(map_text: str) -> int:
    """Flash bytes of the harness's embedded test vectors (src/<name>_vectors.c) in a GNU ld map."""
    from .platformio.size import section_kind

    _, _, body = map_text.partition("Linker script and memory map")
    total = 0
    pending: str | None = None
    for line in body.splitlines():
        if pending is not None:
            match = CONTINUATION.match(line)
            if match and section_kind(pending) in ("text", "data") and re.search(VECTORS_OBJECT, match.group(3)):
                total += int(match.group(2), 16)
            pending = None
            continue
        match = INPUT_SECTION.match(line)
        if match:
            if section_kind(match.group(1)) in ("text", "data") and re.search(VECTORS_OBJECT, match.group(4)):
                total += int(match.group(3), 16)
            continue
        name = INPUT_SECTION_NAME.match(line)
        if name:
            pending = name.group(1)
    return total


PROFILE_FLAGS = "build_flags = -include lib/tinygen_harness/include/tg_profile.h\n"


def write_project(model: CompiledModel, target: str, profiled: bool = True) -> Path:
    """OUT/.tinygen/bench/<target>[-deploy]/: the model's libraries and a harness whose one test
    vector is the benchmark input (its golden output from the numpy reference); without the
    per-layer counter hooks unless `profiled`."""
    from .platformio.project import project_files

    work = model.out_dir / BENCH_DIR / (target if profiled else f"{target}-deploy")
    inputs = bench_inputs(model)
    samples = {io["name"]: model.from_storage(io, x) for io, x in zip(model.inputs, inputs, strict=True)}
    files = project_files(model.graph, (model.inputs, model.outputs), model.name, samples, model.manifest["model_file"],
                          boards=[target],
                          vectors=1)
    for stale in ("lib", "src", "test"):
        if (work / stale).exists():
            shutil.rmtree(work / stale)
    shutil.copytree(model.out_dir / "lib", work / "lib")
    for relative, data in files.items():
        if relative == "platformio.ini" and not profiled:
            text = data.decode()
            if PROFILE_FLAGS not in text:
                raise TinygenError("the generated platformio.ini no longer adds the profiling hooks as "
                                   "tinygen bench expects")
            data = text.replace(PROFILE_FLAGS, "").encode()
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return work


def build_and_count(model: CompiledModel, target: str, profiled: bool, repeat: int, stream: bool
                    ) -> tuple[Path, Any, list[int]]:
    """Build one benchmark firmware and run it `repeat` times: (build folder, harness result, counts)."""
    from .platformio import firmware, qemu
    from .platformio.envs import env_named

    env = env_named(target)
    work = write_project(model, target, profiled)
    built = firmware.pio(work, [env], ["run"], stream=stream)
    if built.returncode != 0:
        tail = "\n".join((built.stdout + built.stderr).strip().splitlines()[-30:])
        raise BuildError(f"building the benchmark firmware for {target} failed:\n{tail}")
    build_dir = work / ".pio" / "build" / target
    runs, parsed = [], None
    for _ in range(max(1, repeat)):
        result = qemu.run(env, build_dir / "firmware.elf", count_instructions=True)
        parsed = qemu.parse_harness(result.stdout + result.stderr)
        if result.returncode != 0 or not parsed.passed or parsed.per_inference is None:
            raise BuildError(f"the {target} benchmark firmware failed (exit {result.returncode}):\n"
                             f"{(result.stdout + result.stderr).strip()[-3000:]}")
        runs.append(parsed.per_inference)
    if len(set(runs)) != 1:
        raise BuildError(f"{target}: instruction counts differ between identical runs: {runs}")
    return build_dir, parsed, runs


COUNTER_READ = "tg_port_counter_read"  # the harness reads its counter just before and after each inference
LAYER_HOOKS = ("tg_profile_layer_begin", "tg_profile_layer_end")


def estimate_cycles(env: Any, elf: Path, probes: list[str]) -> Any:
    """The traced run of a benchmark firmware (platformio/cycles.py)."""
    from .platformio import cycles, qemu

    return cycles.trace_firmware(qemu.command(env, elf, count_instructions=True), elf, probes, cycles.core_for(env.cpu))


def cycle_model(env: Any) -> str:
    """What the cycle estimate of an env's core models (platformio/cycles.py, one timing table per core)."""
    from .platformio import cycles

    return f"{cycles.core_for(env.cpu).summary} (tinygen/platformio/cycles.py)"


def run(out_dir: str | Path, target: str, *, repeat: int = 2, stream: bool = False,
        with_cycles: bool = True) -> BenchResult:
    """Build the benchmark firmwares of a compiled model for a qemu_* env and count one inference
    (instructions; with_cycles: also estimated cycles, from a traced run of each firmware)."""
    from .platformio.envs import env_named
    from .platformio.size import firmware_size

    env = env_named(target)
    if env.kind != "qemu":
        raise TinygenError(f"--target {target}: the benchmark counts instructions on the QEMU envs "
                           "(qemu_m3, qemu_m4, qemu_m7, qemu_m33)")
    model = CompiledModel(out_dir)
    profiled_dir, profiled, _ = build_and_count(model, target, True, repeat, stream)
    build_dir, _, runs = build_and_count(model, target, False, repeat, stream)
    layer_cycles: list[int | None] = []
    inference_cycles = None
    if with_cycles:
        spans = estimate_cycles(env, build_dir / "firmware.elf", [COUNTER_READ]).between(COUNTER_READ, COUNTER_READ)
        inference_cycles = spans[0].cycles
        layer_spans = estimate_cycles(env, profiled_dir / "firmware.elf", list(LAYER_HOOKS)).between(*LAYER_HOOKS)
        layer_cycles = [span.cycles for span in layer_spans]
    report = firmware_size(build_dir, model.name, target)
    if report is None:
        raise BuildError(f"{target}: the build wrote no link map")
    vectors = vectors_bytes((build_dir / "firmware.map").read_text(errors="replace"))
    layers = [LayerFigures(layer["index"], layer["name"], layer["op"], layer["function"],
                           int(layer["macs"]), int(profiled.layers.get(layer["index"], 0)))
              for layer in model.manifest["layer_list"]]
    coded = [layer for layer in layers if layer.kernel]  # the layers that call the hooks, in order
    if layer_cycles and len(layer_cycles) == len(coded):
        for layer, count in zip(coded, layer_cycles, strict=True):
            layer.cycles = count
    manifest = model.manifest
    return BenchResult(model.name, target, env.qemu_machine or "", runs[0], int(manifest["macs"]),
                       int(manifest["arena_bytes"]), report.flash_total - vectors, report.ram_total,
                       int(manifest["weights_bytes"]), int(manifest["constants_bytes"]), vectors,
                       dict(report.flash), dict(report.ram), layers, runs,
                       int(profiled.per_inference or 0), inference_cycles, cycle_model(env) if with_cycles else "")


def format_result(result: BenchResult) -> list[str]:
    """The benchmark as text: totals, then one line per layer."""
    per_mac = result.instructions / result.macs if result.macs else 0.0
    lines = [
        f"{result.model} on {result.target} ({result.qemu_machine}): {result.instructions:,} instructions per "
        f"inference (the whole {result.model}_run call; executed on the emulated core, not cycles)",
        f"  MACs {result.macs:,}: {result.macs_per_instruction:.3f} MAC per instruction "
        f"({per_mac:.3f} instructions per MAC)",
        f"  arena {result.arena_bytes:,} B; firmware flash {result.flash_bytes:,} B without the "
        f"{result.vectors_bytes:,} B test vector (weights {result.weights_bytes:,} B, all constants "
        f"{result.constants_bytes:,} B); static RAM {result.ram_bytes:,} B",
    ]
    if result.cycles:
        lines.insert(1, f"  estimated {result.cycles:,} cycles ({result.cycles_per_instruction:.2f} per instruction, "
                        f"{result.macs / result.cycles:.3f} MAC per cycle; {result.cycle_model})")
    cycles = result.cycles is not None
    lines.append(f"  {'layer':>5}  {'op':<17}{'kernel':<28}{'MACs':>11}{'instructions':>14}{'instr/MAC':>10}"
                 + (f"{'est. cycles':>13}{'MAC/cycle':>10}" if cycles else "") + f"{'share':>7}")
    for layer in result.layers:
        ratio = f"{layer.instructions / layer.macs:.2f}" if layer.macs else ""
        share = 100.0 * layer.instructions / result.instructions if result.instructions else 0.0
        columns = ""
        if cycles:
            per_cycle = f"{layer.macs / layer.cycles:.3f}" if layer.cycles and layer.macs else ""
            columns = f"{layer.cycles or 0:>13,}{per_cycle:>10}"
            share = 100.0 * (layer.cycles or 0) / result.cycles if result.cycles else 0.0
        lines.append(f"  {layer.index:>5}  {layer.op:<17}{layer.kernel:<28}{layer.macs:>11,}"
                     f"{layer.instructions:>14,}{ratio:>10}{columns}{share:>6.1f}%")
    counted = sum(layer.instructions for layer in result.layers)
    lines.append(f"  (layers {counted:,} of {result.profiled_instructions:,} in the firmware with per-layer counter "
                 f"hooks; the rest is the input and output copies and the hooks; layer figures are +-40 "
                 f"instructions)")
    return lines
