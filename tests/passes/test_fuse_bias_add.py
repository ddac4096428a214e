"""passes/fuse_bias_add.py: Add of a constant (one value per output channel, or a scalar) after a
conv or fully connected layer becomes that layer's bias: MatMul + Add (either operand order),
Sub of a constant (imported as Add of its negation), Conv + Add of a [C, 1, 1] vector. Not fused:
an Add of a run-time tensor, of a constant that is not per channel, or when the layer's output
has other readers."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.passes import fuse_bias_add

from ..ops.harness import Case, const, make_model, node, weights
from .conftest import after_pass, check_numerics, node_of, ops

VECTOR = const(np.linspace(-1, 1, 6))


def matmul_then(op: str, constant: np.ndarray, const_first: bool = False, shape=(1, 8)):
    def build():
        rng = np.random.default_rng(211)
        operands = ["k", "mm"] if const_first else ["mm", "k"]
        return make_model([node("MatMul", ["x", "W"], "mm"), node(op, operands, "y")], {"x": list(shape)}, ["y"],
                          {"W": weights(rng, 6, shape[-1]).T.copy(), "k": constant})
    return build


def conv_then_add(constant: np.ndarray, extra_output: bool = False):
    def build():
        rng = np.random.default_rng(212)
        return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Add", ["c", "k"], "y")],
                          {"x": [1, 3, 4, 4]}, ["y", *(["c"] if extra_output else [])],
                          {"W": weights(rng, 6, 3, 3, 3), "k": constant})
    return build


def two_inputs_add():
    rng = np.random.default_rng(213)
    return make_model([node("MatMul", ["x", "W"], "mm"), node("Add", ["mm", "z"], "y")], {"x": [1, 8], "z": [1, 6]},
                      ["y"], {"W": weights(rng, 6, 8).T.copy()})


FUSED = [
    ("matmul_add_vector", matmul_then("Add", VECTOR), "fully_connected", VECTOR),
    ("matmul_add_vector_first", matmul_then("Add", VECTOR, const_first=True), "fully_connected", VECTOR),
    ("matmul_add_scalar", matmul_then("Add", const(0.75)), "fully_connected", np.full(6, 0.75)),
    ("matmul_sub_vector", matmul_then("Sub", VECTOR), "fully_connected", -VECTOR),
    ("matmul_add_row_vector", matmul_then("Add", VECTOR.reshape(1, 6)), "fully_connected", VECTOR),
    ("matmul_rank3_add", matmul_then("Add", VECTOR, shape=(1, 4, 8)), "fully_connected", VECTOR),
    ("conv_add_channel_vector", conv_then_add(VECTOR.reshape(6, 1, 1)), "conv2d", VECTOR),
    ("conv_add_scalar", conv_then_add(const([0.5])), "conv2d", np.full(6, 0.5)),
]


@pytest.mark.parametrize("case_id,build,op,bias", FUSED, ids=[f[0] for f in FUSED])
def test_fused_into_bias(folder, run_case, case_id, build, op, bias) -> None:
    before, after, rewrites = after_pass(fuse_bias_add.run, build(), folder)
    assert ops(before) == [op, "add"] and ops(after) == [op] and rewrites == 1
    layer = node_of(after, op)
    assert layer.outputs == ["y"]
    np.testing.assert_allclose(after.tensors[layer.inputs[2]].data, bias, rtol=1e-6)
    check_numerics(Case(f"pass_bias_{case_id}", build, ops=[op]), run_case)


NOT_FUSED = [
    ("runtime_operand", two_inputs_add, ["fully_connected", "add"]),
    ("per_pixel_constant", conv_then_add(const(np.linspace(-1, 1, 16).reshape(1, 4, 4))), ["conv2d", "add"]),
    ("shared_output", conv_then_add(VECTOR.reshape(6, 1, 1), extra_output=True), ["conv2d", "add"]),
]


@pytest.mark.parametrize("case_id,build,expected", NOT_FUSED, ids=[f[0] for f in NOT_FUSED])
def test_not_fused(folder, run_case, case_id, build, expected) -> None:
    _, after, rewrites = after_pass(fuse_bias_add.run, build(), folder)
    assert ops(after) == expected and rewrites == 0
    check_numerics(Case(f"pass_bias_not_{case_id}", build, ops=expected), run_case)
