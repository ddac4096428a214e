"""Fixtures of the PlatformIO tests: a PlatformIO core folder of their own (provisioned offline
by tinygen, like a user's), compiled models shared per module, and the `tinygen` CLI in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

import tinygen
from tinygen.errors import TinygenError

from ..conftest import MODELS, calibration_file


@pytest.fixture(scope="session", autouse=True)
def _platformio_session(pio_core: Path) -> Path:
    """Every PlatformIO test runs in the session's own core folder (tests/conftest.py)."""
    return pio_core



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
