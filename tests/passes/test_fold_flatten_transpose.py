"""passes/fold_flatten_transpose.py: a feature map flattened (in ONNX's C, H, W order) into a fully
connected layer needs no transpose at run time: the layer's weight columns are permuted to the
channels-last order instead. Also for Reshape, MatMul, 1-D feature maps and a flattened model
input. Not folded: when the flattened values have another reader or are a model output, or when
something other than the fully connected layer reads them."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.passes import fold_flatten_transpose

from ..ops.harness import Case, const, make_model, node, weights
from .conftest import after_pass, check_numerics, node_of, ops


def flatten_into(consumer="Gemm", shape=(1, 3, 4, 5), flatten="Flatten", with_conv=True, tail=(), outputs=("y",)):
    def build():
        rng = np.random.default_rng(241)
        channels = 4 if with_conv else shape[1]
        size = channels * int(np.prod(shape[2:]))
        inits = {"F": weights(rng, 6, size)}
        nodes = []
        source = "x"
        if with_conv:
            inits["W"] = weights(rng, channels, shape[1], *([3, 3] if len(shape) == 4 else [3]))
            nodes.append(node("Conv", ["x", "W"], "c", pads=[1] * (2 * (len(shape) - 2))))
            source = "c"
        if flatten == "Flatten":
            nodes.append(node("Flatten", [source], "f"))
        else:
            inits["shape"] = const([1, -1], np.int64)
            nodes.append(node("Reshape", [source, "shape"], "f"))
        if consumer == "Gemm":
            nodes.append(node("Gemm", ["f", "F"], "y", transB=1))
        elif consumer == "MatMul":
            inits["F"] = np.ascontiguousarray(inits["F"].T)
            nodes.append(node("MatMul", ["f", "F"], "y"))
        else:
            nodes.append(node("Relu", ["f"], "r"))
            nodes.append(node("Gemm", ["r", "F"], "y", transB=1))
        nodes.extend(tail)
        return make_model(nodes, {"x": list(shape)}, list(outputs), inits)
    return build


FOLDED = [
    ("conv_flatten_gemm", flatten_into(), ["conv2d", "reshape", "fully_connected"]),
    ("conv_reshape_matmul", flatten_into("MatMul", flatten="Reshape"), ["conv2d", "reshape", "fully_connected"]),
    ("conv1d_flatten_gemm", flatten_into(shape=(1, 3, 9)), ["conv2d", "reshape", "fully_connected"]),
    ("input_flatten_gemm", flatten_into(with_conv=False), ["reshape", "fully_connected"]),
]


@pytest.mark.parametrize("case_id,build,expected", FOLDED, ids=[f[0] for f in FOLDED])
def test_folded(folder, run_case, case_id, build, expected) -> None:
    before, after, rewrites = after_pass(fold_flatten_transpose.run, build(), folder)
    assert "transpose" in ops(before) and ops(after) == expected and rewrites == 1
    fc = node_of(after, "fully_connected")
    reshape = node_of(after, "reshape")
    assert fc.inputs[0] == reshape.outputs[0]
    # The weight columns are the ONNX (C, H, W) columns reordered to (H, W, C).
    w_before = before.tensors[node_of(before, "fully_connected").inputs[1]].data
    w_after = after.tensors[fc.inputs[1]].data
    _, h, w, c = after.tensors[reshape.inputs[0]].shape
    np.testing.assert_array_equal(w_after, w_before.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(-1, h * w * c))
    check_numerics(Case(f"pass_flatten_{case_id}", build, ops=expected), run_case)


NOT_FOLDED = [
    ("flattened_is_model_output", flatten_into(outputs=("y", "f")),
     ["conv2d", "transpose", "reshape", "fully_connected"]),
    ("relu_between", flatten_into("Relu"), ["conv2d", "transpose", "reshape", "lut", "fully_connected"]),
    ("flattened_read_twice", flatten_into(tail=[node("Sigmoid", ["f"], "s")], outputs=("y", "s")),
     ["conv2d", "transpose", "reshape", "fully_connected", "lut"]),
]


@pytest.mark.parametrize("case_id,build,expected", NOT_FOLDED, ids=[f[0] for f in NOT_FOLDED])
def test_not_folded(folder, run_case, case_id, build, expected) -> None:
    _, after, rewrites = after_pass(fold_flatten_transpose.run, build(), folder)
    assert ops(after) == expected and rewrites == 0
    check_numerics(Case(f"pass_flatten_not_{case_id}", build, ops=expected), run_case)
