"""Shared fixtures. Test folders may add their own conftest.py for their own helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
    from tinygen.verify import first_mismatch

    problem = first_mismatch(np.asarray(expected), np.asarray(actual), label)
    assert problem is None, problem


@pytest.fixture
def models_dir() -> Path:
    return MODELS
