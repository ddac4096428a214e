"""QDQ ONNX models with 16-bit activations (issue 16): onnxruntime's quantize_static with QInt16 symmetric
activations and QInt8 per-channel weights (tests/fixtures/make_qdq_int16.py) compile to the 16x8 IR with the
model's own parameters, no calibration.

Bit-exactness holds between the golden reference and the generated C (host, ASan/UBSan). Against
onnxruntime's run of the same file the arithmetic is not the same, by definition on both sides: onnxruntime
executes a QDQ graph in float (dequantize, float op, quantize with round-half-to-even) and keeps every Q/DQ
pair, e.g. between a Gemm and its Relu (two roundings, the first on the Gemm output's coarser symmetric
scale), where tinygen runs TFLite's integer 16x8 recipe (the Relu is the layer's clamp, one rounding; a
64-bit requantization whose multiplier is rounded to Q15). So the check against onnxruntime is the
accuracy both reach against the float model: tinygen's SQNR within 1 dB of onnxruntime's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import tinygen
from tinygen.verification import sqnr_db

from .conftest import MODELS, assert_identical

FIXTURES = Path(__file__).parent / "fixtures" / "qdq_int16"


def _float_outputs(name: str, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(MODELS / name / f"{name}_float.onnx"), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {input_name: x[i:i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("name", ["kws_dscnn", "ad_autoencoder"])
def test_qdq_int16_model_is_bit_exact_and_as_accurate_as_onnxruntime(name: str, tmp_path: Path) -> None:
    model = tinygen.compile(FIXTURES / f"{name}_qdq_int16.onnx", tmp_path / "out")
    functions = {layer["function"] for layer in model.manifest["layer_list"] if layer["function"]}
    assert functions and all(f.endswith("_s16") for f in functions), functions
    assert model.inputs[0]["dtype"] == "int16" and model.outputs[0]["dtype"] == "int16"
    with np.load(FIXTURES / f"{name}_ort.npz") as data:
        x, onnxruntime_y = data["x"], data["y"]
    quantized = model.quantize(model.inputs[0], x)
    golden = model.golden(quantized, int8=True)
    assert isinstance(golden, np.ndarray)
    assert_identical(golden, model.run(quantized, int8=True, sanitize=True), f"{name}: golden vs host C")
    reference = _float_outputs(name, x)
    ours = sqnr_db(reference, model.dequantize(model.outputs[0], golden).reshape(reference.shape))
    theirs = sqnr_db(reference, onnxruntime_y.reshape(reference.shape))
    print(f"{name}: SQNR against the float model, tinygen {ours:.2f} dB, onnxruntime's QDQ run {theirs:.2f} dB")
    assert ours >= theirs - 1.0
