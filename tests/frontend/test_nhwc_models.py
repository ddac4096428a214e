"""TensorFlow-style models that keep NHWC in ONNX (tf2onnx without inputs_as_nchw): the
Transpose(0, 3, 1, 2) after the NHWC input and the Transpose(0, 2, 3, 1) before a TF-order
Flatten cost nothing, because those tensors are stored as they are (frontend/layout.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import tinygen

from ..conftest import assert_identical


def test_nhwc_input_and_flatten_need_no_transposes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    initializers = [numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32), "W"),
                    numpy_helper.from_array((rng.standard_normal((6 * 6 * 4, 5)) * 0.1).astype(np.float32), "M"),
                    numpy_helper.from_array(np.array([1, -1], np.int64), "shape")]
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t", "W"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Transpose", ["r"], ["rt"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["rt", "shape"], ["f"]),
             helper.make_node("MatMul", ["f", "M"], ["y"])]
    graph = helper.make_graph(nodes, "nhwc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    x = rng.standard_normal((16, 8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)

    model = tinygen.compile(tmp_path / "m.onnx", tmp_path / "out", calib=str(tmp_path / "x.npy"))
    assert "transpose" not in model.manifest["ops"], model.manifest["ops"]
    assert model.inputs[0]["layout"] == "plain"  # the user's NHWC bytes go in unchanged
    ours = model.run(x)
    assert_identical(model.golden(x), ours, "golden vs host C")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    theirs = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    # Input, conv and FC roundings: a couple of output steps at most.
    assert np.max(np.abs(ours - theirs)) <= 2 * model.outputs[0]["scale"]
