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
INT16 = "16x8 quantized models are not supported yet"  # the _16x8 files, until issue 16


@pytest.mark.parametrize("name", FILES)
def test_fixture_matches_tflite_micro(name: str, tmp_path: Path) -> None:
    path = FIXTURES / f"{name}.tflite"
    if name.endswith("_16x8") or name in NOT_YET:
        expected_text = INT16 if name.endswith("_16x8") else NOT_YET[name][0]
        with pytest.raises(UnsupportedModelError) as refusal:
            tinygen.compile(path, tmp_path / "out")
        assert expected_text in str(refusal.value), str(refusal.value)
        return
    with np.load(FIXTURES / f"{name}_io.npz") as io:
        x, expected = io["x_int8"], io["y_int8"]  # (samples, *the model's input / output shape)
    compiled = tinygen.compile(path, tmp_path / "out")
    for i in range(len(x)):
        sample = x[i]
        host = compiled.run(sample, int8=True).reshape(expected[i].shape)
        golden = compiled.golden(sample, int8=True).reshape(expected[i].shape)
        assert_identical(expected[i], golden, f"{name} sample {i}: golden vs tflite-micro")
        assert_identical(expected[i], host, f"{name} sample {i}: host C vs tflite-micro")
