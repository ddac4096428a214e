"""Running firmware on QEMU's Cortex-M machines, and reading the harness's result lines.

A firmware built for a qemu_* env (tinygen-qemu dev-platform) runs with

    qemu-system-arm -M <machine> -nographic -monitor none -serial none
        -semihosting-config enable=on,target=native [-icount shift=0] -kernel firmware.elf

printf goes to stdout through semihosting and the firmware's exit status becomes QEMU's.
`-icount shift=0` makes SysTick count executed instructions (the harness's figures); batch
inference runs without it, several times faster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from .envs import Env

FIELD = re.compile(r"(\w+)=(\S+)")


def qemu_binary() -> str:
    qemu = os.environ.get("TINYGEN_QEMU", "qemu-system-arm")
    if shutil.which(qemu) is None:
        raise BuildError(f"'{qemu}' is not on PATH: the qemu_* environments run firmware in QEMU",
                         hint="Install it (Debian/Ubuntu: apt-get install qemu-system-arm), or set TINYGEN_QEMU.")
    return qemu


def command(env: Env, elf: Path, count_instructions: bool = True) -> list[str]:
    assert env.qemu_machine, env.name
    args = [qemu_binary(), "-M", env.qemu_machine, "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native"]
    if count_instructions:
        args += ["-icount", "shift=0"]
    return [*args, "-kernel", str(elf)]


def run(env: Env, elf: Path, *, count_instructions: bool = True, cwd: Path | None = None,
        timeout: float = 1800) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command(env, elf, count_instructions), cwd=cwd, capture_output=True, text=True,
                              errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{env.name}: the firmware did not finish within {timeout:.0f} s in QEMU") from None


@dataclass
class HarnessResult:
    """What the harness printed (tg_harness.h): status, per-sample and per-layer counts."""
    status: str | None = None
    samples: int = 0
    failed: int = 0
    counter: str | None = None  # "instructions", or None when nothing was counted
    per_inference: int | None = None
    sample_counts: list[int] = field(default_factory=list)
    layers: dict[int, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def parse_harness(text: str) -> HarnessResult:
    result = HarnessResult()
    for line in text.splitlines():
        tag, _, rest = line.strip().partition(" ")
        fields = dict(FIELD.findall(rest))
        if tag == "TG_BEGIN":
            result.counter = None if fields.get("counter") == "none" else fields.get("counter")
        elif tag == "TG_SAMPLE" and result.counter in fields:
            result.sample_counts.append(int(fields[result.counter]))
        elif tag == "TG_MISMATCH":
            result.mismatches.append(rest)
        elif tag == "TG_LAYER" and result.counter in fields:
            result.layers[int(fields["index"])] = int(fields[result.counter])
        elif tag == "TG_RESULT":
            result.status = fields.get("status")
            result.samples = int(fields.get("samples", 0))
            result.failed = int(fields.get("failed", 0))
            if result.counter in fields:
                result.per_inference = int(fields[result.counter])
    return result
