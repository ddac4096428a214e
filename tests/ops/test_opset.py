"""Models at old opsets (9 and 11, with the attribute forms of their era: Clip min/max, Pad pads,
Squeeze/Unsqueeze/ReduceMean axes, Dropout ratio, Softmax on 2-D) are upgraded by the loader and
compile like new ones; a symbolic batch dimension (any name) is pinned to 1."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from .harness import Case, CaseRunner, const, make_model, node, standard_tests, weights


def opset9_cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(81)
    inits = {"W": weights(rng, 6, 3, 3, 3), "B": np.zeros(6, np.float32),
             "bn_s": rng.uniform(0.5, 1.5, 6), "bn_b": rng.standard_normal(6), "bn_m": rng.standard_normal(6) * 0.2,
             "bn_v": rng.uniform(0.5, 2, 6), "F": weights(rng, 5, 6 * 4 * 4), "FB": np.zeros(5, np.float32)}
    inits = {k: np.asarray(v, np.float32) for k, v in inits.items()}
    nodes = [node("Pad", ["x"], "xp", mode="constant", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0),
             node("Conv", ["xp", "W", "B"], "c"),
             node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], "bn", epsilon=1e-3),
             node("Clip", ["bn"], "r", min=0.0, max=6.0),
             node("MaxPool", ["r"], "p", kernel_shape=[2, 2], strides=[2, 2]),
             node("Dropout", ["p"], "d", ratio=0.25),
             node("Flatten", ["d"], "f"),
             node("Gemm", ["f", "F", "FB"], "g", transB=1),
             node("Softmax", ["g"], "y", axis=1)]
    return make_model(nodes, {"x": [1, 3, 8, 8]}, ["y"], inits, opset=9)


def opset9_squeeze_unsqueeze() -> onnx.ModelProto:
    rng = np.random.default_rng(82)
    inits = {"W": weights(rng, 4, 3, 1, 1), "F": weights(rng, 3, 4).T.copy()}
    nodes = [node("Conv", ["x", "W"], "c"),
             node("ReduceMean", ["c"], "m", axes=[2, 3], keepdims=1),
             node("Squeeze", ["m"], "s", axes=[2, 3]),
             node("MatMul", ["s", "F"], "h"),
             node("Unsqueeze", ["h"], "y", axes=[2, 3])]
    return make_model(nodes, {"x": [1, 3, 5, 5]}, ["y"], inits, opset=9)


def opset11_clip_pad() -> onnx.ModelProto:
    rng = np.random.default_rng(83)
    inits = {"W": weights(rng, 4, 3, 3, 3), "lo": const(0.0), "hi": const(6.0),
             "pads": const([0, 0, 1, 1, 0, 0, 1, 1], np.int64)}
    nodes = [node("Pad", ["x", "pads"], "xp", mode="constant"),
             node("Conv", ["xp", "W"], "c", strides=[2, 2]),
             node("Clip", ["c", "lo", "hi"], "y")]
    return make_model(nodes, {"x": [1, 3, 8, 8]}, ["y"], inits, opset=11)


CASES = [
    Case("opset9_cnn", opset9_cnn, ops=["conv2d", "max_pool", "reshape", "fully_connected", "softmax"],
         sqnr_db=25.0),
    Case("opset9_squeeze_unsqueeze", opset9_squeeze_unsqueeze,
         ops=["conv2d", "avg_pool", "reshape", "fully_connected", "reshape"], sqnr_db=20.0),
    Case("opset11_clip_pad", opset11_clip_pad, ops=["conv2d"]),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def test_upgraded_opset_is_recorded(run_case: CaseRunner) -> None:
    manifest = run_case(CASES[0]).model.manifest
    assert manifest["upgraded_from_opset"] == 9
    assert manifest["opset"] >= 13


def test_any_symbolic_batch_name_is_pinned(tmp_path) -> None:
    """The batch dim may be named anything ('batch_size', 'unk__0', ...) or be unnamed."""
    import tinygen

    for index, dim in enumerate(["batch_size", "unk__0", None]):
        graph = helper.make_graph([node("Relu", ["x"], "y")], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim, 6])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [dim, 6])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        path = tmp_path / f"m{index}.onnx"
        onnx.save(model, path)
        compiled = tinygen.compile(path, tmp_path / f"out{index}", calib="random", warn=lambda _: None)
        assert compiled.inputs[0]["shape"] == [1, 6]
        assert compiled.outputs[0]["onnx_shape"] == [1, 6]
