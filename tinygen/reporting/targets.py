"""Flash and RAM of the model on every target, and whether it fits a board.

What the model needs on a target is its own part of the firmware: RAM = the static arena plus any
other static data of the model; flash = the model (constants and the layer-calling code) plus the
kernels it calls. Where OUT holds a PlatformIO build of the env (`tinygen build/flash/test/run
--target`), these are *measured* from the link map (tinygen/platformio/size.py; the harness and
the C library are shown beside them). Otherwise they are *estimated*: the constants exactly (the
code generator's own arrays) plus code sizes per layer and per kernel source taken from builds
of the MLPerf Tiny models for Cortex-M4 (rounded up), and the arena exactly. RAM needs, beside it, the
worst-case call stack (tinygen/stack.py): measured for the env's own CPU flags when a board is checked,
else the Cortex-M4 figure stored at compile time; a board fits when static RAM plus stack fit its RAM.
Board RAM and flash sizes come from
tinygen/platformio/envs.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..platformio.envs import ENVS, Env
from ..platformio.size import SizeReport, firmware_size

# Code estimates (bytes of flash), from qemu_m4 builds of the MLPerf Tiny models at -Os: the
# layer sequence took 84-144 B per layer, each kernel source 140-700 B (plain C kernels).
ESTIMATE_MODEL_CODE = 512  # run / invoke / float wrappers
ESTIMATE_LAYER_CODE = 160  # per layer: the parameter struct and the call
ESTIMATE_KERNEL_SOURCE = 1024  # per kernel function the model calls (with the helpers it pulls in)
BUILD_FOLDERS = (".pio/build", ".pio/batch")  # where tinygen's PlatformIO builds land in OUT


@dataclass
class Footprint:
    env: Env
    ram: int  # the model's static RAM: arena + other static data (the stack comes on top)
    flash: int  # the model's flash: constants + layer code + kernels
    measured: bool
    parts: dict[str, int] = field(default_factory=dict)  # flash by part
    firmware: SizeReport | None = None  # the whole build, when measured
    stack: int = 0  # worst-case call stack, needed on top of ram
    stack_cpu: str | None = None  # the CPU it was measured for

    @property
    def fits(self) -> bool:
        return self.ram + self.stack <= self.env.ram and self.flash <= self.env.flash

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "env": self.env.name, "title": self.env.title, "kind": self.env.kind,
            "board_ram_bytes": self.env.ram, "board_flash_bytes": self.env.flash,
            "ram_bytes": self.ram, "flash_bytes": self.flash, "flash_parts": self.parts,
            "measured": self.measured, "fits": self.fits, "stack_bytes": self.stack, "stack_cpu": self.stack_cpu,
        }
        if self.firmware is not None:
            data["firmware"] = {"flash": self.firmware.flash, "ram": self.firmware.ram,
                                "flash_total": self.firmware.flash_total, "ram_total": self.firmware.ram_total}
        return data


def estimate(manifest: dict[str, Any], env: Env) -> Footprint:
    code = ESTIMATE_MODEL_CODE + ESTIMATE_LAYER_CODE * int(manifest["layers"])
    # Per function the model calls: the helpers and fallbacks they pull in are part of that figure.
    kernels = ESTIMATE_KERNEL_SOURCE * len(manifest.get("kernel_functions", []))
    parts = {"constants": int(manifest["constants_bytes"]), "model code (estimate)": code,
             "kernels (estimate)": kernels}
    return Footprint(env, int(manifest["arena_bytes"]), sum(parts.values()), False, parts)


def measured(out_dir: Path, manifest: dict[str, Any], env: Env) -> Footprint | None:
    for folder in BUILD_FOLDERS:
        report = firmware_size(out_dir / folder / env.name, manifest["name"], env.name)
        if report is not None and report.flash["model"] > 0:
            parts = {"model": report.flash["model"], "kernels": report.flash["kernels"]}
            ram = report.ram["model"] + report.ram["kernels"]
            return Footprint(env, ram, sum(parts.values()), True, parts, report)
    return None


def footprint(out_dir: Path | None, manifest: dict[str, Any], env: Env, measure_stack: bool = False) -> Footprint:
    """Measured where OUT has a build of the env, else estimated; plus the worst-case stack (for the
    env's own CPU with measure_stack, else the compile-time Cortex-M4 figure)."""
    fp = (measured(out_dir, manifest, env) if out_dir is not None else None) or estimate(manifest, env)
    stack = manifest.get("stack") or None
    if measure_stack and out_dir is not None and env.cpu is not None:
        from ..stack import measure

        report = measure(out_dir, manifest["name"], manifest.get("kernel_functions", []), env)
        stack = report.to_json() if report else stack
    if stack:
        fp.stack, fp.stack_cpu = int(stack["model_bytes"]), stack["cpu"]
    return fp


def footprints(out_dir: Path | None, manifest: dict[str, Any]) -> list[Footprint]:
    """Every target with RAM and flash sizes (not the host)."""
    return [footprint(out_dir, manifest, env) for env in ENVS.values() if env.kind != "host"]


def kib(size: int) -> str:
    value = size / 1024
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def fit_line(fp: Footprint) -> str:
    """'fits nucleo_f446re: RAM 15.6 of 128 KiB, flash 35.2 of 512 KiB (estimated)'."""
    verdict = "fits" if fp.fits else "does not fit"
    how = "measured from the build in OUT" if fp.measured else "estimated"
    stack = f"; plus {fp.stack:,} B of worst-case stack ({fp.stack_cpu})" if fp.stack else ""
    return (f"{verdict} {fp.env.name}: RAM {kib(fp.ram)} of {kib(fp.env.ram)} KiB, "
            f"flash {kib(fp.flash)} of {kib(fp.env.flash)} KiB ({how}){stack}")


def fit_advice(fp: Footprint, manifest: dict[str, Any], layers: list[dict[str, Any]] | None = None) -> list[str]:
    """Why a model does not fit `fp.env`, and what would help."""
    lines = []
    others = [env.name for env in ENVS.values() if env.kind == "board" and env.name != fp.env.name
              and fp.ram + fp.stack <= env.ram and fp.flash <= env.flash]
    if fp.ram + fp.stack > fp.env.ram:
        arena, bound = manifest["arena_bytes"], manifest["arena_lower_bound_bytes"]
        lines.append(f"RAM: the model needs {fp.ram:,} B (activation arena {arena:,} B), the board has "
                     f"{fp.env.ram:,} B" + (f"; the call stack needs {fp.stack:,} B more." if fp.stack else "."))
        if arena > bound:
            lines.append(f"  - the arena is {arena - bound:,} B above the live-set lower bound ({bound:,} B): "
                         "`tinygen compile --ram-budget BYTES` makes the planner search harder for a "
                         "tighter placement.")
        peak = max(layers or [], key=lambda row: row.get("live_bytes", 0), default=None)
        where = f" around layer {peak['index']} ({peak['op']} '{peak['name'][:40]}')" if peak else ""
        lines.append(f"  - {bound:,} B are live at once{where}: a smaller input resolution or fewer channels "
                     "there lowers it, and so does a tighter `--ram-budget`: tinygen then runs the layers "
                     "around the peak in row bands (patches) and picks kernels with less scratch.")
    if fp.flash > fp.env.flash:
        lines.append(f"Flash: the model needs {fp.flash:,} B (constants {manifest['constants_bytes']:,} B), "
                     f"the board has {fp.env.flash:,} B.")
        heavy = sorted(layers or [], key=lambda row: -row.get("constants_bytes", 0))[:3]
        if heavy:
            lines.append("  - the largest layers: " + ", ".join(
                f"{row['index']} {row['op']} ({row['constants_bytes']:,} B)" for row in heavy)
                + "; fewer or narrower layers (pruned channels) shrink them. Weights are already int8, "
                  "one byte per parameter.")
    if others:
        lines.append(f"Boards it fits: {', '.join(others)} (`tinygen boards`).")
    if not fp.measured:
        lines.append(f"These figures are estimates; `tinygen build OUT -e {fp.env.name}` measures them.")
    return lines
