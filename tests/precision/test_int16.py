"""16-bit activations (issue 16, TFLite's 16x8 scheme) on whole models.

* `--activations int16` on the float MLPerf models: golden == the generated C on the host (ASan/UBSan),
  every byte of the samples' int16 outputs, and a higher SQNR against the float model than int8 gives
  (KWS and AD here; VWW and IC, and the qemu_m4 firmware, in the slow test and bench/precision_int16.py).
* Mixed precision from a precision file: the named layers int16, the rest int8, conversion layers where
  neighbours differ (ops/convert.py); bit-exact as well.
* The option on a layer that cannot take it is refused by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen
from tinygen.errors import TinygenError
from tinygen.verify import onnxruntime_outputs, sqnr_db

from ..conftest import MODELS, assert_identical, calibration_file, samples
from ..ops.harness import make_model, node, weights

DIGITS = Path(__file__).parents[1] / "fixtures" / "digits"


def _compile(name: str, out: Path, **options: object) -> tinygen.CompiledModel:
    return tinygen.compile(MODELS / name / f"{name}_float.onnx", out, calib=str(calibration_file(name)), **options)


def _check_int16_model(name: str, tmp_path: Path, target: str | None = None) -> tuple[float, float]:
    """golden == host C (and == `target`'s firmware); returns (int8 SQNR, int16 SQNR) against float."""
    x = samples(name)["x"]
    sqnr = []
    for activations in ("int8", "int16"):
        model = _compile(name, tmp_path / activations, activations=activations)
        quantized = model.quantize(model.inputs[0], x)
        golden = model.golden(quantized, int8=True)
        assert isinstance(golden, np.ndarray) and golden.dtype == np.dtype(activations)
        assert_identical(golden, model.run(quantized, int8=True, sanitize=True), f"{name} {activations}: golden vs C")
        if target is not None and activations == "int16":
            assert_identical(golden, model.run(quantized, int8=True, target=target), f"{name}: golden vs {target}")
        reference = onnxruntime_outputs(model, {model.inputs[0]["name"]: x})[0]
        output = model.dequantize(model.outputs[0], golden)
        sqnr.append(sqnr_db(reference.reshape(output.shape), output))
    print(f"{name}: SQNR against float, int8 {sqnr[0]:.2f} dB, int16 {sqnr[1]:.2f} dB")
    return sqnr[0], sqnr[1]


@pytest.mark.parametrize("name", ["kws_dscnn", "ad_autoencoder"])
def test_mlperf_int16_is_bit_exact_and_closer_to_float(name: str, tmp_path: Path) -> None:
    int8, int16 = _check_int16_model(name, tmp_path)
    assert int16 > int8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"])
def test_mlperf_int16_on_qemu_m4(name: str, tmp_path: Path) -> None:
    int8, int16 = _check_int16_model(name, tmp_path, target="qemu_m4")
    assert int16 > int8


def test_mixed_precision_inserts_conversions(tmp_path: Path) -> None:
    """The digits CNN with its first convolution and the classifier int16, the rest int8."""
    model = tinygen.compile(DIGITS / "digits.onnx", tmp_path / "mixed", calib=str(DIGITS / "digits_calib.npz"),
                            precision={"/features/features.0/Conv": {"activations": "int16"},
                                       "/classifier/Gemm": {"activations": "int16"}})
    layers = model.manifest["layer_list"]
    functions = [layer["function"] for layer in layers]
    assert "tg_conv_s16" in functions and "tg_fully_connected_s16" in functions
    assert {"tg_requantize_s8_s16", "tg_requantize_s16_s8"} <= set(functions), functions
    assert any(f.endswith("_s8") and not f.startswith("tg_requantize") for f in functions)
    with np.load(DIGITS / "digits_calib.npz") as data:
        x = data[data.files[0]][:8]
    quantized = model.quantize(model.inputs[0], x)
    assert_identical(model.golden(quantized, int8=True), model.run(quantized, int8=True, sanitize=True),
                     "mixed precision: golden vs host C")


def test_int16_on_a_layer_without_16x8_kernel_is_refused(tmp_path: Path) -> None:
    """A named layer is refused (a model-wide --activations int16 leaves it int8 with conversions around)."""
    def build() -> onnx.ModelProto:
        rng = np.random.default_rng(3)
        return make_model([node("Gemm", ["x", "W"], "h", name="dense", transB=1), node("Elu", ["h"], "y", name="elu")],
                          {"x": [1, 8]}, ["y"], {"W": weights(rng, 6, 8)})

    with pytest.raises(TinygenError, match="layer 'elu' \\(lut\\) cannot take int16 activations"):
        tinygen.compile(_saved(build(), tmp_path), tmp_path / "out", calib="random",
                        precision={"elu": {"activations": "int16"}})
    model = tinygen.compile(_saved(build(), tmp_path), tmp_path / "wide", calib="random", activations="int16")
    functions = [layer["function"] for layer in model.manifest["layer_list"]]
    assert functions == ["tg_fully_connected_s16", "tg_requantize_s16_s8", "tg_lut_s8"], functions


def _saved(model: onnx.ModelProto, tmp_path: Path) -> Path:
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    return path
