"""Shared fixtures. Test folders may add their own conftest.py for their own helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    import tinygen

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models" / "mlperf_tiny"
MLPERF = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]


def model_file(name: str, kind: str) -> Path:
    """kind: 'float', 'float_matched' (kws only), 'int8_qdq' or 'int8' (the .tflite)."""
    suffix = ".tflite" if kind == "int8" else ".onnx"
    return MODELS / name / f"{name}_{kind}{suffix}"


def calibration_file(name: str) -> Path:
    calib = MODELS / name / "calib.npz"
    return calib if calib.exists() else MODELS / name / "samples.npz"


def samples(name: str) -> dict[str, np.ndarray]:
    with np.load(MODELS / name / "samples.npz") as data:
        return {key: data[key] for key in data.files}


def assert_identical(expected: np.ndarray, actual: np.ndarray, label: str = "output") -> None:
    """Exact comparison that reports the first mismatching position."""
    from tinygen.verification import first_mismatch

    problem = first_mismatch(np.asarray(expected), np.asarray(actual), label)
    assert problem is None, problem


@pytest.fixture(scope="session")
def mlperf_compiled(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tinygen.model.CompiledModel]:
    """`mlperf_compiled(name)`: the MLPerf Tiny model's int8 QDQ file compiled with the default options
    (default name, no calibration), once for the whole session, on first use. Shared by several modules:
    use it only to read the output folder, run it and build it; a test that edits the folder copies it."""
    import tinygen

    out = tmp_path_factory.mktemp("mlperf")
    compiled: dict[str, tinygen.model.CompiledModel] = {}

    def get(name: str) -> tinygen.model.CompiledModel:
        if name not in compiled:
            compiled[name] = tinygen.compile(model_file(name, "int8_qdq"), out / name)
        return compiled[name]
    return get


@pytest.fixture
def models_dir() -> Path:
    return MODELS


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def tinygen_cli(capsys: pytest.CaptureFixture[str]):
    """Run `tinygen ARGS` in-process; returns exit code and captured output."""
    from tinygen.cli import main

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}


def missing_tools() -> list[str]:
    missing = [f"{tool} (apt-get install {package})" for tool, package in TOOLS.items() if not shutil.which(tool)]
    try:
        import platformio  # noqa: F401
        import SCons  # noqa: F401
    except ImportError:
        missing.append("platformio and scons (pip install 'tinygen[platformio]')")
    return missing


@pytest.fixture(scope="session")
def pio_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh PlatformIO core folder for the session; tinygen installs tool-scons into it."""
    missing = missing_tools()
    if missing:
        pytest.skip("PlatformIO tests need " + ", ".join(missing))
    core = tmp_path_factory.mktemp("pio_core")
    # tinygen provisions tool-scons before its own PlatformIO runs; tests that call PlatformIO
    # directly (core.run_pio) may run first, so the session core gets it up front.
    from tinygen.platformio import core as tinygen_core

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
