"""Firmware size per component, from the GNU ld link map the tinygen builders write.

flash = text + rodata + data (initial values), RAM = data + bss (the stack and heap are not
counted). Every input section of the map is attributed by the object it comes from:

- model:   lib<name>.a            (lib/<name>/: layers, weights, the static arena)
- kernels: libtinygen_kernels.a   (lib/tinygen_kernels/)
- harness: src/, test/ objects and libtinygen_harness.a (includes the embedded test vectors)
- system:  everything else: the C library, libgcc, startup code, linker padding
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

COMPONENTS = ("model", "kernels", "harness", "system")
NOT_LOADED = (".debug", ".comment", ".ARM.attributes", ".note.GNU-stack", ".stab", ".gnu_debuglink",
              ".symtab", ".strtab", ".shstrtab", ".gnu.attributes", ".gnu.build.attributes")
OUTPUT_SECTION = re.compile(r"^(\.\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)")
OUTPUT_SECTION_NAME = re.compile(r"^(\.\S+)\s*$")
INPUT_SECTION = re.compile(r"^ (\.\S+|COMMON)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
INPUT_SECTION_NAME = re.compile(r"^ (\.\S+|COMMON)\s*$")
CONTINUATION = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")


@dataclass
class SizeReport:
    env: str
    flash: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))
    ram: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))

    @property
    def flash_total(self) -> int:
        return sum(self.flash.values())

    @property
    def ram_total(self) -> int:
        return sum(self.ram.values())


def section_kind(name: str) -> str | None:
    """'text' (flash), 'data' (flash and RAM), 'bss' (RAM) or None (not loaded)."""
    if name.startswith(NOT_LOADED):
        return None
    if name.startswith((".bss", ".tbss", ".noinit", ".sbss")) or name == "COMMON":
        return "bss"
    if name.startswith((".data", ".tdata", ".sdata", ".init_array", ".fini_array", ".got", ".dynamic")):
        return "data"
    return "text"


def component_of(source: str, model: str) -> str:
    source = source.replace("\\", "/")
    archive = source.split("(", 1)[0].rsplit("/", 1)[-1]
    if archive == f"lib{model}.a":
        return "model"
    if archive == "libtinygen_kernels.a":
        return "kernels"
    if archive == "libtinygen_harness.a" or "/src/" in source or "/test/" in source:
        return "harness"
    return "system"


def parse_map(text: str, model: str, env: str = "") -> SizeReport:
    report = SizeReport(env)
    _, _, body = text.partition("Linker script and memory map")
    output_kind: str | None = None
    pending_output: str | None = None
    pending_input: str | None = None
    totals = {"text": 0, "data": 0, "bss": 0}
    attributed = {kind: dict.fromkeys(COMPONENTS, 0) for kind in totals}
    for line in body.splitlines():
        if pending_output is not None:
            match = CONTINUATION.match(line)
            if match:
                output_kind = section_kind(pending_output)
                if output_kind:
                    totals[output_kind] += int(match.group(2), 16)
            pending_output = None
            continue
        if pending_input is not None:
            match = CONTINUATION.match(line)
            if match and output_kind:
                attributed[output_kind][component_of(match.group(3), model)] += int(match.group(2), 16)
            pending_input = None
            continue
        match = OUTPUT_SECTION.match(line)
        if match:
            output_kind = section_kind(match.group(1))
            if output_kind:
                totals[output_kind] += int(match.group(3), 16)
            continue
        match = OUTPUT_SECTION_NAME.match(line)
        if match:
            pending_output = match.group(1)
            continue
        match = INPUT_SECTION.match(line)
        if match:
            if output_kind:
                attributed[output_kind][component_of(match.group(4), model)] += int(match.group(3), 16)
            continue
        if INPUT_SECTION_NAME.match(line):
            pending_input = line.strip()
    for kind in totals:
        known = sum(attributed[kind][c] for c in COMPONENTS if c != "system")
        attributed[kind]["system"] = max(0, totals[kind] - known)
    for component in COMPONENTS:
        report.flash[component] = attributed["text"][component] + attributed["data"][component]
        report.ram[component] = attributed["data"][component] + attributed["bss"][component]
    return report


def map_file(build_dir: Path) -> Path | None:
    for name in ("firmware.map", "program.map"):
        if (build_dir / name).is_file():
            return build_dir / name
    return None


def firmware_size(build_dir: Path, model: str, env: str) -> SizeReport | None:
    path = map_file(build_dir)
    if path is None:
        return None
    return parse_map(path.read_text(errors="replace"), model, env)


def format_sizes(reports: list[SizeReport], label: str = "firmware") -> list[str]:
    """A table: one flash row and one RAM row per env, split by component, in bytes."""
    lines = [f"{label} size in bytes: flash = text+rodata+data, RAM = data+bss (without stack and heap)",
             f"  {'env':<14}{'':<6}" + "".join(f"{c:>10}" for c in (*COMPONENTS, "total"))]
    for report in reports:
        for kind, values, total in (("flash", report.flash, report.flash_total), ("RAM", report.ram, report.ram_total)):
            lines.append(f"  {report.env:<14}{kind:<6}" + "".join(f"{values[c]:>10,}" for c in COMPONENTS)
                         + f"{total:>10,}")
    return lines
