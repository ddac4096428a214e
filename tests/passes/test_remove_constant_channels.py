"""passes/remove_constant_channels.py: output channels with all-zero filters leave the graph, folded into
the next convolution's bias, and the golden reference gives exactly what it gave before (on onnxruntime
QDQ models with dead filters placed to hit each rule, and on VWW, whose pointwise layers have 971 of
them); compiled, golden == host C."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinygen
from tinygen import reference
from tinygen.frontend.importer import import_model
from tinygen.frontend.loader import load_model
from tinygen.ir import Graph, verify
from tinygen.passes import remove_constant_channels, run_pipeline
from tinygen.quantize.quantize import quantize_graph

from ..conftest import REPO, assert_identical

C = 7  # an odd count: the channels kept need not stay a multiple of 2 or 4


def dead_filter_network() -> onnx.ModelProto:
    """Three chains A -> [D ->] B whose A has dead filters, one with a negative bias (ReLU then outputs
    the zero point: the constant passes any padding) and one with a positive bias:

    1. A1 3x3 -> D1 depthwise 3x3 padded -> B1 1x1: only the zero-point channel (1) is removable.
    2. A2 1x1 -> D2 depthwise 3x3 unpadded -> B2 3x3 padded: both are constant after D2; D2's bias sends
       channel 0 to B2's zero point (folds through the padding), channel 3 above it (kept).
    3. A3 1x1 -> B3 1x1: both (2 and 6) fold into B3's bias.
    4. A4 1x1 with 8 channels, 5 of them dead -> B4 1x1: 4 removed (8 -> 4 keeps a multiple of 4)."""
    rng = np.random.default_rng(11)
    arrays: dict[str, np.ndarray] = {}

    def conv(name: str, out_c: int, in_c: int, k: int, dead: dict[int, float] | None = None, group: int = 1,
             bias: dict[int, float] | None = None) -> None:
        w = rng.standard_normal((out_c, in_c // group, k, k)).astype(np.float32) * 0.4
        b = (rng.standard_normal(out_c) * 0.1).astype(np.float32)
        for channel, value in (dead or {}).items():
            w[channel] = 0.0
            b[channel] = value
        for channel, value in (bias or {}).items():
            b[channel] = value
        arrays[f"{name}_w"], arrays[f"{name}_b"] = w, b

    conv("a1", C, 3, 3, dead={1: -0.5, 5: 0.7})
    conv("d1", C, C, 3, group=C)
    conv("b1", C, C, 1)
    conv("a2", C, C, 1, dead={0: -0.5, 3: 0.6})
    conv("d2", C, C, 3, group=C, bias={0: -3.0, 3: 2.0})
    conv("b2", C, C, 3)
    conv("a3", C, C, 1, dead={2: -0.4, 6: 0.5})
    conv("b3", 8, C, 1)
    conv("a4", 8, 8, 1, dead={0: -0.3, 2: 0.4, 3: -0.2, 5: 0.3, 7: -0.6})
    conv("b4", 6, 8, 1)
    nodes, x = [], "x"
    layers = [("a1", 1, 1, True), ("d1", 1, C, True), ("b1", 0, 1, True), ("a2", 0, 1, True),
              ("d2", 0, C, True), ("b2", 1, 1, True), ("a3", 0, 1, True), ("b3", 0, 1, True),
              ("a4", 0, 1, True), ("b4", 0, 1, False)]
    for name, pad, group, relu in layers:
        k = arrays[f"{name}_w"].shape[2]
        nodes.append(helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"], kernel_shape=[k, k],
                                      pads=[pad] * 4, group=group))
        x = f"{name}_c"
        if relu:
            nodes.append(helper.make_node("Relu", [x], [f"{name}_r"]))
            x = f"{name}_r"
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"]), helper.make_node("Flatten", ["gap"], ["y"])]
    initializers = [numpy_helper.from_array(value, name) for name, value in arrays.items()]
    graph = helper.make_graph(nodes, "dead_filters", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                    [1, 3, 10, 10])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def quantize_with_onnxruntime(folder: Path) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    onnx.save(dead_filter_network(), folder / "float.onnx")
    x = np.random.default_rng(3).standard_normal((16, 3, 10, 10)).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter([{"x": x[i:i + 1]} for i in range(len(x))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.rows, None)

    quantize_static(str(folder / "float.onnx"), str(folder / "qdq.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return folder / "qdq.onnx"


def int8_ir(path: Path) -> Graph:
    """The quantized IR of a QDQ model as compile builds it, before the int8 passes."""
    graph = import_model(load_model(path))
    run_pipeline(graph)
    quantize_graph(graph, {})
    return graph


def check_same_golden(before: Graph, after: Graph, samples: int) -> None:
    """Every layer's output after the pass equals its kept channels before it."""
    x = np.random.default_rng(5).integers(-128, 128, (samples, *before.tensors[before.inputs[0]].shape[1:]),
                                          dtype=np.int8)
    _, expected = reference.run(before, [x], keep_all=True)
    _, actual = reference.run(after, [x], keep_all=True)
    for node in after.nodes:
        name = node.outputs[0]
        channels = node.attrs.get("kept_channels", slice(None))
        assert_identical(expected[name][..., channels], actual[name], f"{node.op} '{name}' after the pass vs before")


def kept(graph: Graph) -> dict[str, list[int]]:
    """Conv layer (by its ONNX output) -> the channels it kept."""
    return {node.outputs[0].split("_")[0]: node.attrs["kept_channels"] for node in graph.nodes
            if "kept_channels" in node.attrs}


def test_dead_filters_leave_exactly(tmp_path: Path) -> None:
    path = quantize_with_onnxruntime(tmp_path)
    before = int8_ir(path)
    after = copy.deepcopy(before)
    removed = remove_constant_channels.run(after)
    after.remove_unused_tensors()
    verify(after)
    found = kept(after)
    removed_channels = {name: sorted(set(range(C)) - set(channels)) for name, channels in found.items()}
    assert removed_channels == {"a1": [1], "d1": [1], "a2": [0], "d2": [0], "a3": [2, 6], "a4": [0, 2, 3, 5]}, found
    assert found["a4"] == [1, 4, 6, 7]  # 4 of its 5 dead channels: a multiple of 4 kept
    assert removed == 1 + 1 + 2 + 4
    check_same_golden(before, after, samples=8)

    model = tinygen.compile(path, tmp_path / "out")
    x = np.random.default_rng(9).standard_normal((6, 3, 10, 10)).astype(np.float32)
    assert_identical(model.golden(x), model.run(x), "golden vs host C")


def test_vww_constant_channels(tmp_path: Path) -> None:
    before = int8_ir(REPO / "models" / "mlperf_tiny" / "vww_mobilenet" / "vww_mobilenet_int8_qdq.onnx")
    after = copy.deepcopy(before)
    removed = remove_constant_channels.run(after)
    after.remove_unused_tensors()
    verify(after)
    print(f"VWW: {removed} constant channels removed")
    assert removed >= 500
    for node in after.nodes:
        if node.op in ("conv2d", "depthwise_conv2d"):
            assert after.tensors[node.outputs[0]].shape[-1] % 4 == 0, node.name  # what the DSP kernels need
    check_same_golden(before, after, samples=2)


@pytest.mark.parametrize("padded", [False, True])
def test_constant_channel_left_when_not_foldable(tmp_path: Path, padded: bool) -> None:
    """A dead channel with a positive bias into a padded 3x3 convolution is not one constant at the border
    pixels: it stays; unpadded it folds."""
    rng = np.random.default_rng(2)
    w1 = (rng.standard_normal((3, 1, 1, 1)) * 0.5).astype(np.float32)
    w1[1] = 0.0
    b1 = np.array([0.1, 0.8, -0.1], np.float32)
    w2 = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], kernel_shape=[3, 3], pads=[int(padded)] * 4)]
    inits = [numpy_helper.from_array(a, n) for n, a in
             (("w1", w1), ("b1", b1), ("w2", w2), ("b2", np.zeros(4, np.float32)))]
    side = 6 if padded else 4
    graph = helper.make_graph(nodes, "edge", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, side, side])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "edge.onnx")
    x = np.random.default_rng(4).standard_normal((8, 1, 6, 6)).astype(np.float32)
    model = tinygen.compile(tmp_path / "edge.onnx", tmp_path / "out", calib=x)
    first = model.graph.nodes[0]
    assert first.attrs.get("kept_channels") == (None if padded else [0, 2])
    assert_identical(model.golden(x), model.run(x), "golden vs host C")
