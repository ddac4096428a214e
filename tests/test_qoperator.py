"""Issue 11: onnxruntime's QOperator files compile without calibration data, as their QDQ twins do.

Each case is a small float model built with onnx.helper (and two MLPerf Tiny models), quantized by
onnxruntime's `quantize_static` twice from the same calibration data: in the QOperator format
(QLinearConv, QGemm, QLinearAdd, ...) and in the QDQ format. tinygen expands every QOperator node into
DequantizeLinear -> float op -> QuantizeLinear (tinygen/ops/qoperator.py), so

  (a) golden == host C, bit for bit, on random int8 inputs;
  (b) the QOperator file gives exactly the bytes of the QDQ file where both files state the same int8
      computation. They do not where onnxruntime fuses differently per format: a Relu after a Conv is
      folded into QLinearConv's output parameters but kept as its own quantized op in QDQ (its own
      requantization), so cases with such a pair are compared per format only (`same_as_qdq=False`);
  (c) against onnxruntime running the QOperator file itself, the share of identical output bytes and
      the largest difference in steps are printed and bounded. onnxruntime does not define the same
      integer arithmetic as tinygen (and TFLite) for these ops, so bit-exactness is not expected:
        * QLinearConv / QLinearMatMul / QGemm requantize the int32 accumulator with a float multiplier
          and round half to even (MLAS); tinygen uses TFLite's fixed-point multiplier and rounding;
        * QLinearAdd / QLinearMul compute in float and round; tinygen uses TFLite's integer ADD/MUL;
        * QLinearAveragePool / QLinearGlobalAveragePool sum in int32 and scale the sum in float;
          tinygen rescales the sum with a fixed-point multiplier, then divides with rounding (the
          global pool matched onnxruntime on every byte here, the windowed one within a step);
        * QLinearSigmoid / QLinearLeakyRelu use a 256-entry table computed in float
          (quantize(f(dequantize(x)))), which is tinygen's recipe too, so they are bit-exact;
        * QLinearSoftmax uses a float exp table; tinygen uses TFLite's fixed-point softmax.
      `max_steps` bounds the difference per case (one step per requantization on the path), and
      `exact` marks the cases whose arithmetic is the same, which must match onnxruntime bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinygen
from tinygen import reference

from .conftest import assert_identical, calibration_file, model_file

CALIB = 16
TEST = 64


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, list[int]], output_shape: list[int],
           initializers: dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "qoperator_case",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinygen-tests")
    onnx.checker.check_model(model, full_check=True)
    return model


def _w(seed: int, *shape: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


@dataclass
class Case:
    id: str
    build: Callable[[], onnx.ModelProto]
    qoperator_ops: set[str]  # op types the QOperator file must contain (the forms under test)
    max_steps: int = 1  # largest difference to onnxruntime's run of the QOperator file, in output steps
    exact: bool = False  # onnxruntime defines the same arithmetic: bit-exact
    same_as_qdq: bool = True
    per_channel: bool = True
    uint8: bool = False  # uint8 activations (quantize_static's default for QOperator) instead of int8

    def __str__(self) -> str:
        return self.id


def conv() -> onnx.ModelProto:
    return _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2])],
                  {"x": [1, 3, 12, 12]}, [1, 8, 6, 6], {"w": _w(1, 8, 3, 3, 3), "b": _w(2, 8) * 0.3})


def conv_relu_maxpool() -> onnx.ModelProto:
    return _model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                   helper.make_node("Relu", ["c"], ["r"]),
                   helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                  {"x": [1, 4, 8, 8]}, [1, 8, 4, 4], {"w": _w(3, 8, 4, 3, 3), "b": _w(4, 8) * 0.3})


def depthwise() -> onnx.ModelProto:
    return _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], group=6)],
                  {"x": [1, 6, 8, 8]}, [1, 6, 8, 8], {"w": _w(5, 6, 1, 3, 3), "b": _w(6, 6) * 0.3})


def gemm() -> onnx.ModelProto:
    return _model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                  {"x": [1, 32]}, [1, 10], {"w": _w(7, 10, 32), "b": _w(8, 10) * 0.3})


def matmul() -> onnx.ModelProto:
    return _model([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": [1, 24]}, [1, 12], {"w": _w(9, 24, 12)})


def binary(op: str, b_shape: list[int]) -> Callable[[], onnx.ModelProto]:
    def build() -> onnx.ModelProto:
        # Two model inputs: both operands are run-time tensors with their own parameters (the second
        # calibrated on 3x wider data), read straight from the file's input QuantizeLinear.
        return _model([helper.make_node(op, ["a", "b"], ["y"])], {"a": [1, 4, 6, 6], "b": b_shape}, [1, 4, 6, 6], {})
    return build


def unary(op: str, **attrs: object) -> Callable[[], onnx.ModelProto]:
    def build() -> onnx.ModelProto:
        return _model([helper.make_node(op, ["x"], ["y"], **attrs)], {"x": [1, 4, 6, 6]}, [1, 4, 6, 6], {})
    return build


# onnxruntime quantizes a pooling only after a quantized op: a LeakyRelu (a table, bit-exact with
# onnxruntime) comes first, so what differs from onnxruntime is the pooling's own arithmetic.
def average_pool() -> onnx.ModelProto:
    return _model([helper.make_node("LeakyRelu", ["x"], ["r"], alpha=0.5),
                   helper.make_node("AveragePool", ["r"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1])], {"x": [1, 4, 9, 9]}, [1, 4, 5, 5], {})


def global_average_pool() -> onnx.ModelProto:
    return _model([helper.make_node("LeakyRelu", ["x"], ["r"], alpha=0.5),
                   helper.make_node("GlobalAveragePool", ["r"], ["g"]), helper.make_node("Flatten", ["g"], ["y"])],
                  {"x": [1, 4, 9, 9]}, [1, 4], {})


def concat() -> onnx.ModelProto:
    return _model([helper.make_node("Conv", ["x", "w1"], ["a"]), helper.make_node("Conv", ["x", "w2"], ["b"]),
                   helper.make_node("Concat", ["a", "b"], ["y"], axis=1)],
                  {"x": [1, 4, 5, 5]}, [1, 7, 5, 5], {"w1": _w(14, 3, 4, 1, 1), "w2": _w(15, 4, 4, 1, 1) * 3})


def softmax() -> onnx.ModelProto:
    return _model([helper.make_node("Gemm", ["x", "w"], ["g"], transB=1),
                   helper.make_node("Softmax", ["g"], ["y"], axis=-1)],
                  {"x": [1, 16]}, [1, 10], {"w": _w(16, 10, 16) * 3})


CASES = [
    Case("conv_per_channel", conv, {"QLinearConv"}),
    Case("conv_per_tensor", conv, {"QLinearConv"}, per_channel=False),
    Case("conv_relu_maxpool", conv_relu_maxpool, {"QLinearConv", "MaxPool"}, same_as_qdq=False),
    Case("conv_relu_maxpool_uint8", conv_relu_maxpool, {"QLinearConv", "MaxPool"}, same_as_qdq=False, uint8=True),
    Case("qlinearadd_uint8", binary("Add", [1, 4, 6, 6]), {"QLinearAdd"}, uint8=True),
    Case("depthwise", depthwise, {"QLinearConv"}),
    Case("qgemm", gemm, {"QGemm"}),
    Case("qlinearmatmul", matmul, {"QLinearMatMul"}),
    Case("qlinearadd", binary("Add", [1, 4, 6, 6]), {"QLinearAdd"}),
    Case("qlinearadd_broadcast", binary("Add", [1, 4, 1, 1]), {"QLinearAdd"}),
    Case("qlinearmul", binary("Mul", [1, 4, 6, 6]), {"QLinearMul"}),
    Case("qlinearsigmoid", unary("Sigmoid"), {"QLinearSigmoid"}, exact=True),
    Case("qlinearleakyrelu", unary("LeakyRelu", alpha=0.2), {"QLinearLeakyRelu"}, exact=True),
    # onnxruntime's QDQ form gives the pools their input's parameters, the QOperator form their own.
    Case("qlinearaveragepool", average_pool, {"QLinearAveragePool"}, same_as_qdq=False),
    Case("qlinearglobalaveragepool", global_average_pool, {"QLinearGlobalAveragePool", "Flatten"},
         same_as_qdq=False),
    Case("qlinearconcat", concat, {"QLinearConcat"}),
    # The QOperator form gives the softmax output scale 1/256 (TFLite's), the QDQ form 1/255.
    Case("qlinearsoftmax", softmax, {"QLinearSoftmax"}, same_as_qdq=False),
]


def quantize(source: Path, target: Path, calib: dict[str, np.ndarray], quant_format: str,
             per_channel: bool = True, uint8: bool = False) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            count = len(next(iter(calib.values())))
            self.rows = iter([{k: v[i:i + 1] for k, v in calib.items()} for i in range(count)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.rows, None)

    quantize_static(str(source), str(target), Reader(), quant_format=getattr(QuantFormat, quant_format),
                    per_channel=per_channel, activation_type=QuantType.QUInt8 if uint8 else QuantType.QInt8,
                    weight_type=QuantType.QInt8)


def onnxruntime_int8(path: Path, model: tinygen.model.CompiledModel, x_int8: dict[str, np.ndarray]) -> np.ndarray:
    """onnxruntime's run of a quantized file on the real values of int8 inputs (its input
    QuantizeLinear gives back exactly those integers), requantized to int8 with the output's
    parameters (its output DequantizeLinear is exact, so this recovers its integers)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    io_out = model.outputs[0]
    x = {io["name"]: model.dequantize(io, x_int8[io["name"]]).astype(np.float32) for io in model.inputs}
    y = np.concatenate([session.run(None, {k: v[i:i + 1] for k, v in x.items()})[0] for i in range(TEST)])
    return np.clip(np.round(y / io_out["scale"]) + io_out["zero_point"], -128, 127).astype(np.int8)


@dataclass
class Compiled:
    qoperator: tinygen.model.CompiledModel
    qdq: tinygen.model.CompiledModel
    qoperator_file: Path
    x: dict[str, np.ndarray]  # int8 test inputs by model input name


def compile_pair(float_file: Path, calib: dict[str, np.ndarray], folder: Path, per_channel: bool = True,
                 uint8: bool = False, seed: int = 0) -> Compiled:
    for fmt in ("QOperator", "QDQ"):
        quantize(float_file, folder / f"{fmt}.onnx", calib, fmt, per_channel, uint8)
    qop = tinygen.compile(folder / "QOperator.onnx", folder / "out_qoperator")
    qdq = tinygen.compile(folder / "QDQ.onnx", folder / "out_qdq")
    assert qop.manifest["calibration"]["samples"] == 0
    rng = np.random.default_rng(seed)
    x = {io["name"]: rng.integers(-128, 128, size=(TEST, *io["onnx_shape"][1:]), dtype=np.int8) for io in qop.inputs}
    return Compiled(qop, qdq, folder / "QOperator.onnx", x)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Case], Compiled]:
    cache: dict[str, Compiled] = {}

    def get(case: Case) -> Compiled:
        if case.id not in cache:
            folder = tmp_path_factory.mktemp(case.id)
            model = case.build()
            onnx.save(model, folder / "float.onnx")
            rng = np.random.default_rng(100)
            calib = {value.name: (rng.standard_normal(
                (CALIB, *[d.dim_value for d in value.type.tensor_type.shape.dim][1:])) * (1 + 2 * index)).astype(
                np.float32) for index, value in enumerate(model.graph.input)}
            cache[case.id] = compile_pair(folder / "float.onnx", calib, folder, case.per_channel, case.uint8)
        return cache[case.id]
    return get


def _compare_with_onnxruntime(label: str, pair: Compiled, max_steps: int, exact: bool) -> None:
    ours = pair.qoperator.run(pair.x, int8=True, sanitize=True).reshape(TEST, -1)
    theirs = onnxruntime_int8(pair.qoperator_file, pair.qoperator, pair.x).reshape(TEST, -1)
    diff = np.abs(ours.astype(np.int32) - theirs)
    print(f"{label}: vs onnxruntime's run of the QOperator file: {np.mean(diff == 0) * 100:.2f} % of "
          f"{diff.size} bytes identical, largest difference {int(diff.max())} step(s)")
    if exact:
        assert_identical(theirs, ours, f"{label}: host C vs onnxruntime (QOperator file)")
    assert int(diff.max()) <= max_steps, f"{label}: {int(diff.max())} steps from onnxruntime (bound {max_steps})"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_qoperator_file(case: Case, compiled: Callable[[Case], Compiled]) -> None:
    pair = compiled(case)
    found = {node.op_type for node in onnx.load(str(pair.qoperator_file)).graph.node}
    assert case.qoperator_ops <= found, f"{case.id}: onnxruntime wrote {sorted(found)}"
    golden = pair.qoperator.golden(pair.x, int8=True)
    host = pair.qoperator.run(pair.x, int8=True, sanitize=True)
    assert_identical(golden, host, f"{case.id}: golden vs host C")
    if case.same_as_qdq:
        assert_identical(pair.qdq.golden(pair.x, int8=True), golden, f"{case.id}: QOperator vs QDQ file")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_qoperator_vs_onnxruntime(case: Case, compiled: Callable[[Case], Compiled]) -> None:
    _compare_with_onnxruntime(case.id, compiled(case), case.max_steps, case.exact)


# ResNet-8 (QLinearAdd on the residuals) takes ~15 s more: under `slow`.
MLPERF_QOPERATOR = ["kws_dscnn", pytest.param("ic_resnet8", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", MLPERF_QOPERATOR)
def test_mlperf_qoperator_equals_qdq(name: str, tmp_path: Path) -> None:
    """A whole network: onnxruntime's QOperator and QDQ files of the same float model and calibration data
    compile to the same computation: every layer whose parameters the two files agree on gives the same
    bytes on random int8 inputs (golden reference, layer by layer)."""
    source = model_file(name, "float")
    input_name = onnx.load(str(source)).graph.input[0].name
    with np.load(calibration_file(name)) as data:
        calib = {input_name: data["x"][:16].astype(np.float32)}
    pair = compile_pair(source, calib, tmp_path)
    golden = pair.qoperator.golden(pair.x, int8=True)
    assert_identical(golden, pair.qoperator.run(pair.x, int8=True), f"{name}: golden vs host C")
    x = {io["name"]: pair.qoperator.to_storage(io, pair.x[io["name"]]) for io in pair.qoperator.inputs}
    layers = [(model.graph, reference.run(model.graph, list(x.values()), keep_all=True)[1])
              for model in (pair.qoperator, pair.qdq)]
    (qop_graph, qop_values), (qdq_graph, qdq_values) = layers
    assert [n.op for n in qop_graph.nodes] == [n.op for n in qdq_graph.nodes]
    same = set(qop_graph.inputs)  # tensors (by QOperator name) shown identical
    renamed = dict(zip(qop_graph.inputs, qdq_graph.inputs, strict=True))
    first_different = None
    for qop_node, qdq_node in zip(qop_graph.nodes, qdq_graph.nodes, strict=True):
        out, twin = qop_node.outputs[0], qdq_node.outputs[0]
        renamed[out] = twin
        qop_quant, qdq_quant = qop_graph.tensors[out].quant, qdq_graph.tensors[twin].quant
        assert qop_quant is not None and qdq_quant is not None
        if not qop_quant.same_as(qdq_quant):
            first_different = first_different or qop_node.op
            continue
        if all(i in same or qop_graph.tensors[i].data is not None for i in qop_node.inputs):
            assert_identical(qdq_values[twin], qop_values[out], f"{name}: layer {qop_node.name} QOperator vs QDQ")
            same.add(out)
    compared = len(same) - len(qop_graph.inputs)
    print(f"{name}: {compared} of {len(qop_graph.nodes)} layers bit-identical between the QOperator and the QDQ "
          f"file; from the first {first_different} on the two files' parameters differ")
    # onnxruntime quantizes the pooling at the end differently per format (its own parameters in
    # QLinearAveragePool, the input's in QDQ): every layer before it is the same computation.
    assert first_different == "avg_pool"
    before = next(i for i, n in enumerate(qop_graph.nodes) if n.op == "avg_pool")
    assert all(n.outputs[0] in same for n in qop_graph.nodes[:before])
    ours = pair.qoperator.run(pair.x, int8=True).reshape(TEST, -1)
    theirs = onnxruntime_int8(pair.qoperator_file, pair.qoperator, pair.x).reshape(TEST, -1)
    diff = np.abs(ours.astype(np.int32) - theirs)
    print(f"{name}: vs onnxruntime's run of the QOperator file: {np.mean(diff == 0) * 100:.2f} % of "
          f"{diff.size} bytes identical, largest difference {int(diff.max())} step(s)")


def test_unexpandable_qoperator_form_is_refused_by_name(tmp_path: Path) -> None:
    """A QOperator node tinygen has no expansion for is named, with the way out."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("QLinearReduceMean", ["q", "s", "z", "s", "z"], ["r"], domain="com.microsoft",
                              axes=[1], keepdims=1),
             helper.make_node("DequantizeLinear", ["r", "s", "z"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
                              [numpy_helper.from_array(np.array(0.1, np.float32), "s"),
                               numpy_helper.from_array(np.array(0, np.int8), "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(tinygen.errors.UnsupportedModelError) as info:
        tinygen.compile(tmp_path / "m.onnx", tmp_path / "out")
    assert "QLinearReduceMean" in str(info.value) and "QDQ" in str(info.value)
