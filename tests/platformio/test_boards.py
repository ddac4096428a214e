"""Real-board environments without the boards: PlatformIO accepts the generated configuration,
the same sources compile with each board's core flags (local twins built with the system
arm-none-eabi toolchain), and offline a real-board build fails in seconds with one clear line."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tinygen.platformio import core
from tinygen.platformio.envs import ENVS, local_twin
from tinygen.platformio.qemu import parse_harness

from .conftest import compile_case

BOARDS = [name for name, env in ENVS.items() if env.kind == "board"]
TWINS = [name for name in BOARDS if ENVS[name].cpu]  # every Arm board (not the Xtensa esp32dev)


@pytest.fixture(scope="module")
def kws(tmp_path_factory: pytest.TempPathFactory):
    return compile_case(tmp_path_factory.mktemp("boards"), "kws_dscnn", "kws_dscnn_float", True)


def test_platformio_accepts_the_generated_configuration(kws, pio_core: Path) -> None:
    result = core.run_pio(["project", "config"], kws.out_dir, pio_core, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ENVS:
        assert f"env:{name}" in result.stdout
    for name in BOARDS:
        assert f"{ENVS[name].platform}\n" in result.stdout  # e.g. "platform  =  ststm32"


def test_real_board_build_fails_fast_offline(kws, tinygen_cli) -> None:
    start = time.perf_counter()
    result = tinygen_cli("build", kws.out_dir, "-e", "nucleo_f446re")
    elapsed = time.perf_counter() - start
    assert result.code == 2
    assert elapsed < 15, f"took {elapsed:.1f} s"
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "nucleo_f446re" in lines[0] and "ststm32" in lines[0] and "registry cannot be reached" in lines[0]
    assert "HTTPClientError" not in result.err


def test_same_sources_compile_with_every_board_core(kws, pio_core: Path, tmp_path: Path) -> None:
    """Local twins: the board's -mcpu and float ABI on tinygen's QEMU platform. The Cortex-M0+
    twin (no DSP extension) even runs on the Cortex-M3 machine and passes."""
    project = tmp_path / "twins"
    shutil.copytree(kws.out_dir, project, ignore=shutil.ignore_patterns(".pio"))
    ini = (project / "platformio.ini").read_text()
    qemu_platform = next(line for line in ini.splitlines() if "tinygen-qemu" in line)
    sections = []
    for name in TWINS:
        board, fpu = local_twin(ENVS[name])
        sections.append(f"\n[env:twin_{name}]\n{qemu_platform}\nboard = {board}\n"
                        f"board_build.cpu = {ENVS[name].cpu}\nboard_build.tinygen.fpu_flags = {fpu}\n")
    (project / "platformio.ini").write_text(ini + "".join(sections))
    args = ["run"] + [arg for name in TWINS for arg in ("-e", f"twin_{name}")]
    result = core.run_pio(args, project, pio_core, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for name in TWINS:
        assert f"twin_{name}" in result.stdout and (project / f".pio/build/twin_{name}/firmware.elf").is_file()
    pico = core.run_pio(["run", "-e", "twin_pico", "-t", "upload"], project, pio_core, timeout=300)
    assert pico.returncode == 0, pico.stdout[-4000:]
    assert parse_harness(pico.stdout + pico.stderr).passed  # semihosting console output: stderr
