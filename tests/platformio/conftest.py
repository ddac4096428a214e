"""Fixtures of the PlatformIO tests: a PlatformIO core folder of their own (provisioned offline
by tinygen, like a user's), compiled models shared per module, and the `tinygen` CLI in-process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tinygen
from tinygen.cli import main
from tinygen.errors import TinygenError
from tinygen.platformio import core as tinygen_core

from ..conftest import MODELS, calibration_file

TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}


def missing_tools() -> list[str]:
    missing = [f"{tool} (apt-get install {package})" for tool, package in TOOLS.items() if not shutil.which(tool)]
    try:
        import platformio  # noqa: F401
        import SCons  # noqa: F401
    except ImportError:
        missing.append("platformio and scons (pip install 'tinygen[platformio]')")
    return missing


@pytest.fixture(scope="session", autouse=True)
def pio_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh PlatformIO core folder for the session; tinygen installs tool-scons into it."""
    missing = missing_tools()
    if missing:
        pytest.skip("PlatformIO tests need " + ", ".join(missing))
    core = tmp_path_factory.mktemp("pio_core")
    # tinygen provisions tool-scons before its own PlatformIO runs; tests that call PlatformIO
    # directly (core.run_pio) may run first, so the session core gets it up front.
    tinygen_core.ensure_tool_scons(core)
    saved = {key: os.environ.get(key) for key in ("TINYGEN_PLATFORMIO_CORE_DIR", "TINYGEN_OFFLINE")}
    os.environ["TINYGEN_PLATFORMIO_CORE_DIR"] = str(core)
    os.environ["TINYGEN_OFFLINE"] = "1"  # real-board envs must fail fast here, online or not
    yield core
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def tinygen_cli(capsys: pytest.CaptureFixture[str]):
    """Run `tinygen ARGS` in-process; returns exit code and captured output."""
    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


# (id, model folder, file stem, needs calibration): the acceptance set of issue 4
ACCEPTANCE = [
    ("kws_dscnn_float", "kws_dscnn", "kws_dscnn_float", True),
    ("kws_dscnn_qdq", "kws_dscnn", "kws_dscnn_int8_qdq", False),
    ("vww_mobilenet_qdq", "vww_mobilenet", "vww_mobilenet_int8_qdq", False),
    ("ic_resnet8_qdq", "ic_resnet8", "ic_resnet8_int8_qdq", False),
    ("ad_autoencoder_qdq", "ad_autoencoder", "ad_autoencoder_int8_qdq", False),
]
# the float forms of the other three (the slow sweep)
FLOAT_SWEEP = [
    ("vww_mobilenet_float", "vww_mobilenet", "vww_mobilenet_float", True),
    ("ic_resnet8_float", "ic_resnet8", "ic_resnet8_float", True),
    ("ad_autoencoder_float", "ad_autoencoder", "ad_autoencoder_float", True),
]


def compile_case(out: Path, folder: str, stem: str, calibrate: bool) -> tinygen.model.CompiledModel:
    """Compile one model; a QDQ model that cannot be imported yet is skipped, not failed."""
    path = MODELS / folder / f"{stem}.onnx"
    try:
        return tinygen.compile(path, out / stem, calib=str(calibration_file(folder)) if calibrate else None)
    except TinygenError as exc:
        if not calibrate and "calibration data is needed" in str(exc):
            pytest.skip("QDQ import not yet available")
        raise
