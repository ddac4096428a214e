"""Max and Min: two run-time operands of different scales (each rescaled to the output's), broadcast
per channel, a constant operand (a clamp against a constant), 2-D features, and a conv residual."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

FMAP = [1, 4, 5, 6]


def binary(case_id: str, op: str, shape_a=FMAP, shape_b=FMAP) -> Case:
    def build():
        return make_model([node(op, ["a", "b"], "y", name=op.lower())], {"a": shape_a, "b": shape_b}, ["y"])
    return Case(case_id, build, ops=["minmax"])


def with_constant(case_id: str, op: str, constant: np.ndarray, const_first: bool = False) -> Case:
    def build():
        inputs = ["k", "x"] if const_first else ["x", "k"]
        return make_model([node(op, inputs, "y", name=op.lower())], {"x": FMAP}, ["y"], {"k": constant})
    return Case(case_id, build, ops=["minmax"])


def scaled_pair(op: str) -> Case:
    """max(conv(x), x): the conv output's range is about twice the input's, so both inputs are rescaled."""
    def build():
        rng = np.random.default_rng(31)
        inits = {"W": weights(rng, 4, 4, 3, 3, scale=2.0), "B": np.zeros(4, np.float32)}
        return make_model([node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1]), node(op, ["c", "x"], "y")],
                          {"x": FMAP}, ["y"], inits)
    return Case(f"conv_{op.lower()}_input", build, ops=["conv2d", "minmax"])


CASES = [
    binary("max_same_shape", "Max"),
    binary("min_same_shape", "Min"),
    binary("max_broadcast_channel", "Max", shape_b=[1, 4, 1, 1]),
    binary("min_features", "Min", shape_a=[1, 10], shape_b=[1, 10]),
    with_constant("max_scalar", "Max", const(0.25)),
    with_constant("min_channel_const_first", "Min", const(np.linspace(-0.5, 1.0, 4).reshape(4, 1, 1)),
                  const_first=True),
    scaled_pair("Max"),
    scaled_pair("Min"),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
