"""The normalization-node hint: data that comes out of the model's own input normalization far from
unit scale gets a warning; data on the expected scale does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tinygen


def normalizing_model(path: Path) -> None:
    """x (pixels 0-255) -> (x - 127.5) / 64 -> 1x1 Conv -> Relu."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array(127.5, np.float32), "mean"),
             numpy_helper.from_array(np.array(64.0, np.float32), "std"),
             numpy_helper.from_array(rng.normal(size=(4, 3, 1, 1)).astype(np.float32), "w"),
             numpy_helper.from_array(np.zeros(4, np.float32), "b")]
    nodes = [helper.make_node("Sub", ["x", "mean"], ["centered"]), helper.make_node("Div", ["centered", "std"], ["n"]),
             helper.make_node("Conv", ["n", "w", "b"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "norm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def test_normalization_hint(tmp_path: Path) -> None:
    normalizing_model(tmp_path / "norm.onnx")
    pixels = np.random.default_rng(1).uniform(0, 255, size=(40, 3, 4, 4)).astype(np.float32)
    for name, data, expect_warning in (("pixels", pixels, False), ("scaled", pixels / 255.0, True)):
        np.save(tmp_path / f"{name}.npy", data)
        warnings: list[str] = []
        tinygen.compile(tmp_path / "norm.onnx", tmp_path / name, calib=str(tmp_path / f"{name}.npy"),
                        warn=warnings.append)
        hinted = [w for w in warnings if "normalized inside the model" in w]
        assert bool(hinted) == expect_warning, (name, warnings)
