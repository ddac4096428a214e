"""The Python run/golden contract for outputs whose first axis is not the batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

import tinygen

from .conftest import assert_identical


def test_output_without_a_batch_axis(tmp_path: Path) -> None:
    """Flatten(axis=2) of [1, 3, 4, 5] is [3, 20]: a batch of N results is (N, 3, 20)."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Flatten", ["r"], ["y"], axis=2)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 20])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    x = np.random.default_rng(0).standard_normal((4, 3, 4, 5)).astype(np.float32)
    np.save(tmp_path / "calib.npy", x)
    model = tinygen.compile(tmp_path / "m.onnx", tmp_path / "out", calib=str(tmp_path / "calib.npy"))
    y = model.run(x)
    assert y.shape == (4, 3, 20)
    assert_identical(model.golden(x), y, "golden vs host C")
    # Two roundings: the input's and the output's, half a step each.
    bound = 0.5 * model.inputs[0]["scale"] + 0.5 * model.outputs[0]["scale"] + 1e-6
    assert np.max(np.abs(y - np.maximum(x, 0).reshape(4, 3, 20))) <= bound
