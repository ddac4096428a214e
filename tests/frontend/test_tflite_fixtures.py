"""The Keras-made .tflite fixtures (tests/fixtures/tflite, made by tests/fixtures/make_tflite_models.py):
each file compiles and its golden reference and host C give the stored `tflite-micro` outputs byte
for byte. Files whose operators tinygen does not take yet are listed in NOT_YET with the reason;
they must be refused with a clear error naming it, and a listed file that compiles fails the test
(so the list shrinks as operators land)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.errors import UnsupportedModelError

from ..conftest import REPO, assert_identical

FIXTURES = REPO / "tests" / "fixtures" / "tflite"
FILES = sorted(path.stem for path in FIXTURES.glob("*.tflite"))

# file -> (text the refusal must contain, why)
NOT_YET: dict[str, tuple[str, str]] = {
}


@pytest.mark.parametrize("name", FILES)
def test_fixture_matches_tflite_micro(name: str, tmp_path: Path) -> None:
    path = FIXTURES / f"{name}.tflite"
    if name in NOT_YET:
        with pytest.raises(UnsupportedModelError) as refusal:
            tinygen.compile(path, tmp_path / "out")
        assert NOT_YET[name][0] in str(refusal.value), str(refusal.value)
        return
    kind = "int16" if name.endswith("_16x8") else "int8"  # the _16x8 files: int16 activations (issue 16)
    with np.load(FIXTURES / f"{name}_io.npz") as io:
        x, expected = io[f"x_{kind}"], io[f"y_{kind}"]  # (samples, *the model's input / output shape)
    compiled = tinygen.compile(path, tmp_path / "out")
    for i in range(len(x)):
        sample = x[i]
        host = compiled.run(sample, int8=True).reshape(expected[i].shape)
        golden = compiled.golden(sample, int8=True).reshape(expected[i].shape)
        assert_identical(expected[i], golden, f"{name} sample {i}: golden vs tflite-micro")
        assert_identical(expected[i], host, f"{name} sample {i}: host C vs tflite-micro")
