"""16x8 `.tflite` versions of two MLPerf Tiny models (KWS DS-CNN, AD autoencoder; made by
tests/fixtures/make_mlperf_16x8.py with the TFLite converter) compile directly and give the tflite-micro
interpreter's bytes: on the samples (saved with the fixture) and on random int16 inputs, golden and the host
C (ASan/UBSan) alike. The qemu_m4 firmware is checked too (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.verification import sqnr_db

from ..conftest import assert_identical
from .tflite_builder import tflite_micro

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mlperf_16x8"
NAMES = ["kws_dscnn", "ad_autoencoder"]
RANDOM_INPUTS = 24


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tinygen.CompiledModel]:
    out = tmp_path_factory.mktemp("mlperf_16x8")
    return {name: tinygen.compile(FIXTURES / f"{name}_16x8.tflite", out / name) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_samples_and_random_inputs_match_tflite_micro(compiled: dict, name: str) -> None:
    model = compiled[name]
    functions = {layer["function"] for layer in model.manifest["layer_list"] if layer["function"]}
    assert all(f.endswith("_s16") for f in functions), functions
    with np.load(FIXTURES / f"{name}_16x8_io.npz") as io:
        x, expected, y_float = io["x_int16"], io["y_int16"], io["y_float"]
    rng = np.random.default_rng(16)
    noise = rng.integers(-32768, 32768, size=(RANDOM_INPUTS, *x.shape[1:]), dtype=np.int16)
    model_bytes = (FIXTURES / f"{name}_16x8.tflite").read_bytes()
    cases = (("samples", x, expected), ("random int16", noise, tflite_micro(model_bytes, noise, 1 << 20)))
    for label, batch, reference in cases:
        golden = model.golden(batch, int8=True).reshape(reference.shape)
        host = model.run(batch, int8=True, sanitize=True).reshape(reference.shape)
        assert_identical(reference, golden, f"{name} ({label}): golden vs tflite-micro")
        assert_identical(reference, host, f"{name} ({label}): host C vs tflite-micro")
    output = model.dequantize(model.outputs[0], expected).reshape(y_float.shape)
    print(f"{name} 16x8: SQNR against the Keras float model {sqnr_db(y_float, output):.2f} dB")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_qemu_m4_matches_tflite_micro(compiled: dict, name: str) -> None:
    with np.load(FIXTURES / f"{name}_16x8_io.npz") as io:
        x, expected = io["x_int16"][:4], io["y_int16"][:4]
    firmware = compiled[name].run(x, int8=True, target="qemu_m4")
    assert_identical(expected, firmware.reshape(expected.shape), f"{name}: qemu_m4 vs tflite-micro")


def test_verify_compares_16x8_with_tflite_micro(compiled: dict) -> None:
    """`tinygen verify` on a 16x8 .tflite: int16 inputs fed to tflite-micro, its int16 outputs compared raw."""
    from tinygen.verification import verify_model

    report = verify_model(compiled["kws_dscnn"].out_dir)
    assert report.identical, report.mismatch
    assert any("tflite-micro" in line and "100.0% exact" in line for line in report.lines), report.lines
