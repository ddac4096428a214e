"""Issue 3: quantized (QDQ) models keep their parameters and reproduce TensorFlow Lite Micro's
bytes.

The four MLPerf Tiny int8 models, converted from TFLite to ONNX QDQ, compile without
calibration data; on their samples tinygen gives exactly TFLite's integer reference outputs,
and on 256 further random int8 inputs per model exactly what the `tflite-micro` interpreter
computes from the original .tflite file. Models quantized by onnxruntime's quantize_static
compile too; their differences to onnxruntime (which rescales in float) are reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen
from tinygen.cli import main as cli_main

from .conftest import MLPERF, assert_identical, calibration_file, model_file, samples

RANDOM_INPUTS = 256
# The numpy golden reference takes ~60 ms a VWW input: `make test` compares 32 random inputs of VWW and IC
# (all 256 of KWS and AD), `make bench` all 256 of every model.
RANDOM_CASES = [pytest.param(name, count, id=f"{name}-{count}", marks=pytest.mark.slow if slow else ())
                for name in MLPERF
                for count, slow in ([(RANDOM_INPUTS, False)] if name in ("kws_dscnn", "ad_autoencoder")
                                    else [(32, False), (RANDOM_INPUTS, True)])]


@pytest.fixture(scope="module")
def qdq_models(mlperf_compiled) -> dict[str, tinygen.model.CompiledModel]:
    return {name: mlperf_compiled(name) for name in MLPERF}


def tflite_micro_outputs(name: str, x_onnx_layout: np.ndarray) -> np.ndarray:
    """Run the original .tflite through the tflite-micro interpreter (reference kernels).
    The TFLite model takes NHWC; the ONNX model NCHW (KWS: C = 1, the same bytes)."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(model_file(name, "int8")))
    outputs = []
    for sample in x_onnx_layout:
        nhwc = sample.transpose(1, 2, 0) if sample.ndim == 3 else sample
        interpreter.set_input(nhwc[None].astype(np.int8), 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0)).reshape(-1))
    return np.stack(outputs)


@pytest.mark.parametrize("name", MLPERF)
def test_compiles_without_calibration(qdq_models: dict, name: str) -> None:
    manifest = qdq_models[name].manifest
    assert manifest["calibration"]["samples"] == 0
    assert manifest["inputs"][0]["zero_point"] == int(onnx_input_zero_point(name))


def onnx_input_zero_point(name: str) -> int:
    """The zero point of the model's first DequantizeLinear of its input, read from the file."""
    model = onnx.load(str(model_file(name, "int8_qdq")))
    graph_input = model.graph.input[0].name
    initializers = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == graph_input)
    return int(initializers[node.input[2]])


@pytest.mark.parametrize("name", MLPERF)
def test_samples_reproduce_tflite_reference_outputs(qdq_models: dict, name: str) -> None:
    data = samples(name)
    model = qdq_models[name]
    host = model.run(data["x_int8"], int8=True)
    assert_identical(data["y_int8"], host, f"{name}: host C vs TFLite reference (samples y_int8)")
    assert_identical(data["y_int8"], model.golden(data["x_int8"], int8=True), f"{name}: golden vs TFLite")


@pytest.mark.parametrize("name,count", RANDOM_CASES)
def test_random_inputs_match_tflite_micro(qdq_models: dict, name: str, count: int) -> None:
    model = qdq_models[name]
    shape = model.inputs[0]["onnx_shape"]
    rng = np.random.default_rng(20261123 + MLPERF.index(name))
    x = rng.integers(-128, 128, size=(count, *shape[1:]), dtype=np.int8)
    expected = tflite_micro_outputs(name, x)
    host = model.run(x, int8=True).reshape(count, -1)
    assert_identical(expected, host, f"{name}: host C vs tflite-micro on {count} random inputs")
    golden = model.golden(x, int8=True).reshape(count, -1)
    assert_identical(expected, golden, f"{name}: golden vs tflite-micro")


@pytest.mark.parametrize("name", MLPERF)
def test_cli_run_int8_gives_y_int8(qdq_models: dict, name: str, tmp_path: Path) -> None:
    data = samples(name)
    np.save(tmp_path / "x.npy", data["x_int8"])
    code = cli_main(["-q", "run", str(qdq_models[name].out_dir), "--input", str(tmp_path / "x.npy"),
                     "--output", str(tmp_path / "y.npy"), "--int8"])
    assert code == 0
    assert_identical(data["y_int8"], np.load(tmp_path / "y.npy"), f"{name}: tinygen run --int8")


@pytest.mark.parametrize("name", MLPERF)
def test_verify_passes_without_input(qdq_models: dict, name: str) -> None:
    assert cli_main(["-q", "verify", str(qdq_models[name].out_dir)]) == 0


# --- models quantized by onnxruntime -------------------------------------------------------------

def quantize_with_onnxruntime(name: str, path: Path, quant_format: str = "QDQ") -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    source = model_file(name, "float")
    input_name = onnx.load(str(source)).graph.input[0].name
    with np.load(calibration_file(name)) as calib:
        x = calib["x"][:32]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter([{input_name: x[i:i + 1]} for i in range(len(x))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.rows, None)

    quantize_static(str(source), str(path), Reader(), quant_format=getattr(QuantFormat, quant_format),
                    per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)


def _sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - test) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise)


@pytest.mark.parametrize("name", MLPERF)
def test_onnxruntime_quantize_static_models(name: str, tmp_path: Path) -> None:
    """onnxruntime's own QDQ models compile, golden == host C, and tinygen's run of the model's parameters is
    at least as close to the float model as onnxruntime's run of the same QDQ file.

    onnxruntime requantizes with float scales, tinygen (like TFLite) with fixed-point multipliers, so the
    two differ by single steps per layer that add up through a network -- and onnxruntime's own result
    depends on its version (1.32 runs these files at 4.8 dB SQNR on KWS where the parameters allow 22 dB,
    as tinygen's run shows). So the yardstick is the float model: tinygen must not lose more than 2 dB
    against it, nor a top-1 decision, compared with onnxruntime. (2 dB: ResNet-8's residual Adds are TFLite's
    integer ADD in tinygen -- two rescalings with their roundings -- and one float sum in onnxruntime; that
    costs IC 1.6 dB with onnxruntime 1.32.)"""
    import onnxruntime as ort

    quantize_with_onnxruntime(name, tmp_path / "qdq.onnx")
    model = tinygen.compile(tmp_path / "qdq.onnx", tmp_path / "out")
    x = samples(name)["x"]
    ours = model.run(x)
    assert_identical(model.golden(x), ours, f"{name}: golden vs host C")

    def run(path: Path) -> np.ndarray:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        return np.concatenate([session.run(None, {input_name: x[i:i + 1]})[0] for i in range(len(x))])

    theirs = run(tmp_path / "qdq.onnx")
    reference = run(model_file(name, "float"))
    ours_db, theirs_db = _sqnr_db(reference, ours), _sqnr_db(reference, theirs)
    top1 = {label: int(np.sum(np.argmax(reference, axis=1) == np.argmax(y, axis=1)))
            for label, y in (("tinygen", ours), ("onnxruntime", theirs))}
    print(f"{name}: SQNR against float: tinygen {ours_db:.1f} dB, onnxruntime's run of the QDQ file "
          f"{theirs_db:.1f} dB; top-1 agreement with float {top1}")
    assert ours_db >= theirs_db - 2.0, f"{name}: tinygen {ours_db:.1f} dB, onnxruntime {theirs_db:.1f} dB"
    if name != "ad_autoencoder":
        assert top1["tinygen"] >= top1["onnxruntime"] - 1


def test_dynamic_quantization_is_refused_by_name(tmp_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(model_file("ad_autoencoder", "float")), str(tmp_path / "dyn.onnx"),
                     weight_type=QuantType.QInt8)
    code = cli_main(["compile", str(tmp_path / "dyn.onnx"), "-o", str(tmp_path / "out")])
    assert code == 2
    assert not (tmp_path / "out").exists()
