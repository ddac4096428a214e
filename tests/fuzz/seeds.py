"""Small valid models the fuzzer mutates: each compiles with tinygen as it is, and together they use the
ops, attributes and constant kinds the mutations aim at (convolution and Gemm weights and biases,
BatchNormalization statistics, Clip bounds, Gemm alpha, QDQ scales, shape arithmetic folded away)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def _model(name: str, nodes: list[onnx.NodeProto], inputs: dict[str, list[int]], outputs: dict[str, list[int]],
           initializers: list[onnx.TensorProto]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in outputs.items()],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fuzz-seed")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def cnn(rng: np.random.Generator) -> onnx.ModelProto:
    f = np.float32
    inits = [
        _init("w1", rng.standard_normal((8, 3, 3, 3)).astype(f) * 0.3), _init("b1", rng.standard_normal(8).astype(f)),
        _init("gamma", (1 + 0.1 * rng.standard_normal(8)).astype(f)), _init("beta", rng.standard_normal(8).astype(f)),
        _init("mean", (0.1 * rng.standard_normal(8)).astype(f)), _init("var", (1 + rng.random(8)).astype(f)),
        _init("wd", rng.standard_normal((8, 1, 3, 3)).astype(f) * 0.3), _init("bd", rng.standard_normal(8).astype(f)),
        _init("lo", np.array(0.0, f)), _init("hi", np.array(6.0, f)),
        _init("wf", rng.standard_normal((10, 8)).astype(f) * 0.3), _init("bf", rng.standard_normal(10).astype(f)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["bn"], name="bn1",
                         epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "wd", "bd"], ["c2"], name="dwconv", group=8, pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"], name="relu6"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["fl"], name="flatten", axis=1),
        helper.make_node("Gemm", ["fl", "wf", "bf"], ["logits"], name="fc", transB=1, alpha=1.0, beta=1.0),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=-1),
    ]
    return _model("cnn", nodes, {"x": [1, 3, 12, 12]}, {"y": [1, 10]}, inits)


def conv1d(rng: np.random.Generator) -> onnx.ModelProto:
    f = np.float32
    inits = [
        _init("w", rng.standard_normal((6, 4, 3)).astype(f) * 0.3), _init("b", rng.standard_normal(6).astype(f)),
        _init("shape", np.array([1, -1], np.int64)),
        _init("m", rng.standard_normal((42, 5)).astype(f) * 0.2), _init("mb", rng.standard_normal(5).astype(f)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3], dilations=[1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("AveragePool", ["r"], ["p"], name="pool", kernel_shape=[2], strides=[2]),
        helper.make_node("Reshape", ["p", "shape"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "m"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "mb"], ["y"], name="bias"),
    ]
    return _model("conv1d", nodes, {"x": [1, 4, 16]}, {"y": [1, 5]}, inits)


def residual(rng: np.random.Generator) -> onnx.ModelProto:
    f = np.float32
    inits = [
        _init("w1", rng.standard_normal((4, 4, 3, 3)).astype(f) * 0.3), _init("b1", rng.standard_normal(4).astype(f)),
        _init("w2", rng.standard_normal((4, 4, 1, 1)).astype(f) * 0.3), _init("b2", rng.standard_normal(4).astype(f)),
        _init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Add", ["r1", "x"], ["a1"], name="skip"),
        helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"], name="conv2"),
        helper.make_node("Pad", ["c2", "pads"], ["pd"], name="pad", mode="constant"),
        helper.make_node("Concat", ["pd", "pd"], ["cc"], name="concat", axis=1),
        helper.make_node("GlobalAveragePool", ["cc"], ["y"], name="gap"),
    ]
    return _model("residual", nodes, {"x": [1, 4, 6, 6]}, {"y": [1, 8, 1, 1]}, inits)


def qdq(rng: np.random.Generator) -> onnx.ModelProto:
    f = np.float32
    inits = [
        _init("xs", np.array(0.02, f)), _init("xz", np.array(0, np.int8)),
        _init("wq", rng.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)),
        _init("ws", np.array(0.01, f)), _init("wz", np.array(0, np.int8)),
        _init("bq", rng.integers(-500, 500, 4).astype(np.int32)), _init("bs", np.array(0.0002, f)),
        _init("bz", np.array(0, np.int32)),
        _init("ys", np.array(0.05, f)), _init("yz", np.array(-3, np.int8)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="qx"),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dqx"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], name="dqw"),
        helper.make_node("DequantizeLinear", ["bq", "bs", "bz"], ["bd"], name="dqb"),
        helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["rq"], name="qy"),
        helper.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"], name="dqy"),
    ]
    return _model("qdq", nodes, {"x": [1, 2, 6, 6]}, {"y": [1, 4, 6, 6]}, inits)


def mlp(rng: np.random.Generator) -> onnx.ModelProto:
    """A Gemm stack behind exporter-style shape arithmetic (Shape -> Gather -> Concat -> Reshape)."""
    f = np.float32
    inits = [
        _init("zero", np.array(0, np.int64)), _init("minus1", np.array([-1], np.int64)),
        _init("w1", rng.standard_normal((12, 24)).astype(f) * 0.2), _init("b1", rng.standard_normal(12).astype(f)),
        _init("w2", rng.standard_normal((3, 12)).astype(f) * 0.2), _init("b2", rng.standard_normal(3).astype(f)),
    ]
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="batch", axis=0),
        helper.make_node("Unsqueeze", ["n", "zero"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h"], name="fc1", transB=1, alpha=1.0),
        helper.make_node("LeakyRelu", ["h"], ["hr"], name="leaky", alpha=0.1),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["z"], name="fc2", transB=1),
        helper.make_node("Sigmoid", ["z"], ["y"], name="sigmoid"),
    ]
    return _model("mlp", nodes, {"x": [1, 2, 3, 4]}, {"y": [1, 3]}, inits)


SEEDS = {"cnn": cnn, "conv1d": conv1d, "residual": residual, "qdq": qdq, "mlp": mlp}


def seed_models(seed: int = 0) -> dict[str, onnx.ModelProto]:
    rng = np.random.default_rng(seed)
    return {name: make(rng) for name, make in SEEDS.items()}
