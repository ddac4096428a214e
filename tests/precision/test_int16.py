"""16-bit activations (issue 16, TFLite's 16x8 scheme) on whole models.

* `--activations int16` on the float MLPerf models: golden == the generated C on the host (ASan/UBSan),
  every byte of the samples' int16 outputs, and a higher SQNR against the float model than int8 gives
  (KWS and AD here; VWW and IC, and the qemu_m4 firmware, in the slow test and bench/precision_int16.py).
* Mixed precision from a precision file: the named layers int16, the rest int8, conversion layers where
  neighbours differ (ops/convert.py); bit-exact as well.
* The option on a layer that cannot take it is refused by name.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen
from tinygen.errors import TinygenError
from tinygen.host import WEVERYTHING_EXCEPT
from tinygen.verification import onnxruntime_outputs, sqnr_db

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


TFLITE = Path(__file__).parents[1] / "fixtures" / "tflite"


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed (apt-get install clang)")
def test_16x8_generated_c_is_clean_under_weverything(tmp_path: Path) -> None:
    """As tests/test_weverything.py, for models whose layers run the 16x8 kernels (int16 API, int64 biases)."""
    problems = []
    for name in ("small_cnn_16x8", "add_sub_mul_16x8"):
        out = tmp_path / name
        model = tinygen.compile(TFLITE / f"{name}.tflite", out)
        includes = [f"-I{out / d}" for d in ("lib/tinygen_kernels/include", "lib/tinygen_kernels/src",
                                            f"lib/{model.name}", "lib/tinygen_harness/include", "src")]
        for source in sorted([*(out / "lib").rglob("*.c"), *(out / "src").glob("*.c")]):
            run = subprocess.run(["clang", "-std=c99", "-Weverything", "-Werror", *WEVERYTHING_EXCEPT, *includes,
                                  "-c", str(source), "-o", str(tmp_path / "unit.o")], capture_output=True, text=True)
            if run.returncode:
                problems.append(run.stderr)
    assert not problems, "\n".join(problems)[:4000]


@pytest.mark.slow
def test_every_16x8_kernel_runs_on_qemu_m4(tmp_path: Path) -> None:
    """Each *_s16 kernel and conversion, on the emulated Cortex-M4, equals the golden reference: the 16x8
    fixtures (conv, depthwise, pools, mean, FC, softmax, add, sub, mul, logistic, tanh), a mixed-precision
    model (the int8 <-> int16 conversions), the int16 QDQ KWS (int16 -> int16) and an int16 concat."""
    from ..ops import test_concat

    models = [tinygen.compile(TFLITE / f"{name}_16x8.tflite", tmp_path / name)
              for name in ("small_cnn", "add_sub_mul", "dense_net", "conv2d")]
    models.append(tinygen.compile(DIGITS / "digits.onnx", tmp_path / "mixed", calib=str(DIGITS / "digits_calib.npz"),
                                  precision={"/features/features.3/Conv": {"activations": "int16"}}))
    qdq = Path(__file__).parents[1] / "fixtures" / "qdq_int16" / "kws_dscnn_qdq_int16.onnx"
    models.append(tinygen.compile(qdq, tmp_path / "qdq"))  # its softmax output: an int16 -> int16 conversion
    concat = next(case for case in test_concat.CASES if case.id == "concat_conv_branches")
    models.append(tinygen.compile(_saved(concat.build(), tmp_path), tmp_path / "concat", calib="random",
                                  activations="int16"))
    seen: set[str] = set()
    rng = np.random.default_rng(5)
    for model in models:
        seen |= {layer["function"] for layer in model.manifest["layer_list"]}
        io = model.inputs[0]
        low, high = (-32768, 32767) if io["dtype"] == "int16" else (-128, 127)
        x = rng.integers(low, high, size=(3, *io["onnx_shape"][1:]), endpoint=True).astype(io["dtype"])
        assert_identical(model.golden(x, int8=True), model.run(x, int8=True, target="qemu_m4"),
                         f"{model.name}: golden vs qemu_m4")
    kernels = sorted(path.stem for path in (Path(tinygen.__file__).parents[1] / "firmware" / "tinygen_kernels" / "src")
                     .glob("*s16*.c") if "f32" not in path.stem)
    assert set(kernels) <= seen, f"not run on qemu_m4: {sorted(set(kernels) - seen)}"
