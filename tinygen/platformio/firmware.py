"""Build, flash, unit-test and run a compiled model's PlatformIO project (the CLI's build,
flash, test and run --target commands).

Every PlatformIO run goes through core.prepare() (tinygen's core folder, offline tool-scons,
a fast check that real-board platforms can be installed) and core.run_pio().
"""

from __future__ import annotations

import configparser
import json
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BuildError, TinygenError
from ..outdir import MARKER
from . import core, qemu
from .envs import Env, env_named
from .size import SizeReport, firmware_size

BUILD_TIMEOUT = 3600.0  # seconds, a whole PlatformIO run
BATCH_BUILD_DIR = ".pio/batch"  # where `run --target` builds its batch-runner firmware


@dataclass
class PioRun:
    ok: bool
    output: str
    sizes: list[SizeReport]


def project_envs(out_dir: Path) -> list[str]:
    ini = out_dir / "platformio.ini"
    if not ini.is_file():
        raise TinygenError(f"{out_dir}: no platformio.ini",
                           hint=f"Add the PlatformIO project with `tinygen project {out_dir}`.")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(ini)
    return [section[4:] for section in parser.sections() if section.startswith("env:")]


def resolve_envs(out_dir: Path, names: list[str] | tuple[str, ...] | None) -> list[Env]:
    """The named envs (which the project must have), or by default its offline ones."""
    available = project_envs(out_dir)
    if not names:
        chosen = [name for name in available if env_named(name).local]
        if not chosen:
            raise TinygenError(f"{out_dir}: the project has no offline env; name one with -e ({', '.join(available)})")
        return [env_named(name) for name in chosen]
    envs = []
    for name in names:
        env = env_named(name)
        if name not in available:
            raise TinygenError(f"{out_dir}: the project has no env '{name}' (it has {', '.join(available)})",
                               hint=f"Add it with `tinygen project {out_dir} --board {name}`.")
        envs.append(env)
    return envs


def sizes(out_dir: Path, model: str, envs: list[Env], build_root: str = ".pio/build") -> list[SizeReport]:
    reports = []
    for env in envs:
        report = firmware_size(out_dir / build_root / env.name, model, env.name)
        if report is not None:
            reports.append(report)
    return reports


def model_name(out_dir: Path) -> str:
    return str(json.loads((out_dir / MARKER).read_text())["name"])


def pio(out_dir: Path, envs: list[Env], args: list[str], *, stream: bool, extra_env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    core_dir = core.prepare(envs)
    env_args = [arg for env in envs for arg in ("-e", env.name)]
    try:
        return core.run_pio([*args, *env_args], out_dir, core_dir, stream=stream, timeout=BUILD_TIMEOUT,
                            extra_env=extra_env)
    except subprocess.TimeoutExpired:
        raise BuildError(f"PlatformIO did not finish within {BUILD_TIMEOUT:.0f} s") from None


def build(out_dir: Path, envs: list[Env], *, stream: bool = False) -> PioRun:
    result = pio(out_dir, envs, ["run"], stream=stream)
    output = result.stdout + result.stderr
    return PioRun(result.returncode == 0, output, sizes(out_dir, model_name(out_dir), envs))


def flash(out_dir: Path, env: Env, *, stream: bool = False) -> PioRun:
    """`pio run -t upload`: on a QEMU env this runs the harness firmware in QEMU."""
    result = pio(out_dir, [env], ["run", "-t", "upload"], stream=stream)
    output = result.stdout + result.stderr
    return PioRun(result.returncode == 0, output, sizes(out_dir, model_name(out_dir), [env]))


def test(out_dir: Path, envs: list[Env], *, stream: bool = False) -> PioRun:
    result = pio(out_dir, envs, ["test"], stream=stream)
    output = result.stdout + result.stderr
    return PioRun(result.returncode == 0, output, sizes(out_dir, model_name(out_dir), envs))


def batch_firmware(out_dir: Path, env: Env) -> Path:
    """Build the batch-runner firmware of an env (the harness built with -DTG_BATCH_RUNNER, in
    its own build folder so the harness build stays as it is); PlatformIO rebuilds only what
    changed."""
    extra = {"PLATFORMIO_BUILD_FLAGS": "-DTG_BATCH_RUNNER",
             "PLATFORMIO_BUILD_DIR": str((out_dir / BATCH_BUILD_DIR).resolve())}
    result = pio(out_dir, [env], ["run"], stream=False, extra_env=extra)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise BuildError(f"building the batch runner for {env.name} failed:\n{tail}")
    name = "firmware.elf" if env.kind == "qemu" else "program"
    return (out_dir / BATCH_BUILD_DIR / env.name / name).resolve()


def run_batch(out_dir: Path, target: str, inputs: list[np.ndarray], outputs: list[dict]) -> list[np.ndarray]:
    """Batch inference through a built firmware, with the host simulator's contract:
    `inputs[k]` is (N, ...) int8 in tinygen's layout; returns (N, size) int8 per output."""
    env = env_named(target)
    if env.kind not in ("qemu", "host"):
        raise TinygenError(f"--target {target}: batch inference runs on the host env and the QEMU envs "
                           "(a real board has no file system to read a batch from)")
    resolve_envs(out_dir, [target])
    executable = batch_firmware(out_dir, env)
    count = inputs[0].shape[0]
    # Each tensor in its own type (int8, or int16 for 16x8 activations), as bytes back to back.
    per_sample = [np.ascontiguousarray(x).reshape(count, -1).view(np.uint8) for x in inputs]
    payload = struct.pack("<I", count) + np.concatenate(per_sample, axis=1).tobytes()
    types = [np.dtype(o.get("dtype", "int8")) for o in outputs]
    sizes_ = [int(o["size"]) * t.itemsize for o, t in zip(outputs, types, strict=True)]
    with tempfile.TemporaryDirectory(prefix="tinygen-batch-") as work:
        (Path(work) / "tg_batch_in.bin").write_bytes(payload)
        if env.kind == "qemu":
            result = qemu.run(env, executable, count_instructions=False, cwd=Path(work))
        else:
            result = subprocess.run([str(executable)], cwd=work, capture_output=True, text=True, errors="replace")
        produced = Path(work) / "tg_batch_out.bin"
        data = produced.read_bytes() if produced.exists() else b""
    if result.returncode != 0:
        raise BuildError(f"the {target} firmware failed (exit {result.returncode}):\n"
                         f"{(result.stdout + result.stderr).strip()}")
    if len(data) != count * sum(sizes_):
        raise BuildError(f"the {target} firmware wrote {len(data)} bytes, expected {count * sum(sizes_)}")
    flat = np.frombuffer(data, dtype=np.uint8).reshape(count, sum(sizes_))
    results, start = [], 0
    for size, kind in zip(sizes_, types, strict=True):
        results.append(flat[:, start:start + size].copy().view(kind))
        start += size
    return results
