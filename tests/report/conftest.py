"""Fixtures of the report tests: the MLPerf Tiny models compiled once per session (QDQ forms
without calibration, float forms with their calibration data), small ONNX models that do not
fit a board or cannot be compiled, and the `tinygen` CLI in-process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinygen

from ..conftest import MODELS, calibration_file

# the model's MACs: MLPerf Tiny's published figures (conv and fully connected layers) plus its one
# average pool, counted one per window element per output value (ops/pool.py:
# KWS 64 channels x 25x5, VWW 256 x 3x3, ResNet-8 64 x 8x8)
PUBLISHED_MACS = {"kws_dscnn": 2_656_768, "vww_mobilenet": 7_489_664, "ic_resnet8": 12_501_632,
                  "ad_autoencoder": 264_192}
POOL_MACS = {"kws_dscnn": 64 * 25 * 5, "vww_mobilenet": 256 * 3 * 3, "ic_resnet8": 64 * 8 * 8, "ad_autoencoder": 0}
MACS = {name: PUBLISHED_MACS[name] + POOL_MACS[name] for name in PUBLISHED_MACS}



@pytest.fixture(scope="session")
def mlperf(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """'<model>_<qdq|float>' -> output folder, compiled once per session."""
    root = tmp_path_factory.mktemp("report_mlperf")
    folders = {}
    for name in MACS:
        folders[f"{name}_qdq"] = tinygen.compile(MODELS / name / f"{name}_int8_qdq.onnx", root / f"{name}_qdq").out_dir
        folders[f"{name}_float"] = tinygen.compile(MODELS / name / f"{name}_float.onnx", root / f"{name}_float",
                                                   calib=str(calibration_file(name))).out_dir
    return folders


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def model_of(nodes: list[onnx.NodeProto], x_shape: list[int], y_shape: list[int],
             initializers: dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "report_test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                              [numpy_helper.from_array(a, name) for name, a in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def big_activations_model(path: Path) -> Path:
    """Two 3x3 convolutions over a 128x128 image with 16 channels: 256 KiB feature maps, tiny weights."""
    rng = np.random.default_rng(1)
    inits = {"W1": rng.standard_normal((16, 3, 3, 3)).astype(np.float32) * 0.2,
             "W2": rng.standard_normal((4, 16, 3, 3)).astype(np.float32) * 0.1}
    nodes = [helper.make_node("Conv", ["x", "W1"], ["a"], name="wide", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "W2"], ["y"], name="narrow", pads=[1, 1, 1, 1])]
    return save(model_of(nodes, [1, 3, 128, 128], [1, 4, 128, 128], inits), path)


def big_weights_model(path: Path) -> Path:
    """Fully connected 1024 -> 600: 614,400 int8 weights, more than a 512 KiB flash."""
    rng = np.random.default_rng(2)
    inits = {"W": rng.standard_normal((1024, 600)).astype(np.float32) * 0.03}
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="dense")]
    return save(model_of(nodes, [1, 1024], [1, 600], inits), path)


def unsupported_model(path: Path) -> Path:
    """A conv, then three nodes tinygen cannot compile (LRN, Sin, DepthToSpace) around a Relu."""
    rng = np.random.default_rng(3)
    inits = {"W": rng.standard_normal((16, 3, 3, 3)).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("LRN", ["c"], ["n"], name="norm", size=3),
             helper.make_node("Sin", ["n"], ["s"], name="sine"),
             helper.make_node("Relu", ["s"], ["r"], name="relu"),
             helper.make_node("DepthToSpace", ["r"], ["y"], name="upsample", blocksize=2)]
    return save(model_of(nodes, [1, 3, 8, 8], [1, 4, 16, 16], inits), path)
