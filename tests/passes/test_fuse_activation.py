"""passes/fuse_activation.py: Relu / Clip after a conv, fully connected, add or mul becomes the
producer's output clamp (bounds intersected along a chain of clamps). Not fused: after an op that
takes no clamp (max pool), when the producer's output has other readers or is a model output,
and for other functions (LeakyRelu)."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.passes import fuse_activation

from ..ops.harness import Case, const, make_model, node, weights
from .conftest import after_pass, check_numerics, node_of, ops

BOUNDS = {"lo": const(-0.25), "hi": const(1.5), "six": const(6.0), "zero": const(0.0),
          "low_pos": const(0.5), "high": const(2.0)}


def conv_then(*tail, outputs=("y",)):
    def build():
        rng = np.random.default_rng(221)
        return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), *tail], {"x": [1, 3, 5, 5]},
                          list(outputs), {"W": weights(rng, 4, 3, 3, 3), **BOUNDS})
    return build


def binary_then(op, *tail):
    def build():
        return make_model([node(op, ["a", "b"], "c"), *tail], {"a": [1, 4, 3, 3], "b": [1, 4, 3, 3]}, ["y"], BOUNDS)
    return build


def gemm_then(*tail):
    def build():
        rng = np.random.default_rng(222)
        return make_model([node("Gemm", ["x", "W"], "c", transB=1), *tail], {"x": [1, 8]}, ["y"],
                          {"W": weights(rng, 5, 8), **BOUNDS})
    return build


FUSED = [
    ("conv_relu", conv_then(node("Relu", ["c"], "y")), "conv2d", {"min": 0.0, "max": None}),
    ("conv_relu6", conv_then(node("Clip", ["c", "zero", "six"], "y")), "conv2d", {"min": 0.0, "max": 6.0}),
    ("conv_clip_max_only", conv_then(node("Clip", ["c", "", "hi"], "y")), "conv2d", {"min": None, "max": 1.5}),
    ("conv_clip_then_relu", conv_then(node("Clip", ["c", "lo", "hi"], "r"), node("Relu", ["r"], "y")), "conv2d",
     {"min": 0.0, "max": 1.5}),
    ("conv_relu6_then_clip", conv_then(node("Clip", ["c", "zero", "six"], "r"),
                                       node("Clip", ["r", "low_pos", "high"], "y")),
     "conv2d", {"min": 0.5, "max": 2.0}),
    ("gemm_clip_without_zero", gemm_then(node("Clip", ["c", "low_pos", "high"], "y")), "fully_connected",
     {"min": 0.5, "max": 2.0}),
    ("add_relu", binary_then("Add", node("Relu", ["c"], "y")), "add", {"min": 0.0, "max": None}),
    ("mul_relu6", binary_then("Mul", node("Clip", ["c", "zero", "six"], "y")), "mul", {"min": 0.0, "max": 6.0}),
]


@pytest.mark.parametrize("case_id,build,op,activation", FUSED, ids=[f[0] for f in FUSED])
def test_fused(folder, run_case, case_id, build, op, activation) -> None:
    before, after, rewrites = after_pass(fuse_activation.run, build(), folder)
    assert ops(after) == [op] and rewrites == len(before.nodes) - 1
    producer = node_of(after, op)
    assert producer.attrs["activation"] == activation
    assert producer.outputs == ["y"]
    check_numerics(Case(f"pass_act_{case_id}", build, ops=[op], steps=4.0 if op == "mul" else 3.0), run_case)


NOT_FUSED = [
    ("after_maxpool", lambda: make_model([node("MaxPool", ["x"], "c", kernel_shape=[2, 2]), node("Relu", ["c"], "y")],
                                         {"x": [1, 3, 4, 4]}, ["y"]), ["max_pool", "lut"]),
    ("output_is_model_output", conv_then(node("Relu", ["c"], "y"), outputs=("y", "c")), ["conv2d", "lut"]),
    ("output_has_two_readers", conv_then(node("Relu", ["c"], "r"), node("Add", ["r", "c"], "y")),
     ["conv2d", "lut", "add"]),
    ("leaky_relu", conv_then(node("LeakyRelu", ["c"], "y", alpha=0.1)), ["conv2d", "lut"]),
]


@pytest.mark.parametrize("case_id,build,expected", NOT_FUSED, ids=[f[0] for f in NOT_FUSED])
def test_not_fused(folder, run_case, case_id, build, expected) -> None:
    _, after, rewrites = after_pass(fuse_activation.run, build(), folder)
    assert ops(after) == expected and rewrites == 0
    assert all(not n.attrs.get("activation") for n in after.nodes)
    check_numerics(Case(f"pass_act_not_{case_id}", build, ops=expected), run_case)
