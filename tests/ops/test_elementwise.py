"""Add, Sub, Mul, Div: two run-time operands (same shape, or broadcast per channel / per pixel as in
a squeeze-excite block), a constant per-channel vector, a scalar constant, the constant on either
side; 4-D feature maps and 2-D features."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

FMAP = [1, 4, 5, 6]
# A product of two run-time operands carries each one's rounding times the other's magnitude
# (|d(ab)| <= |a| |db| + |b| |da|), a slope of up to ~4 for N(0, 1) data: one step more.
PRODUCT_STEPS = 4.0


def binary_const(case_id: str, op: str, constant: np.ndarray, shape=FMAP, const_first=False, **kw) -> Case:
    def build():
        inputs = ["k", "x"] if const_first else ["x", "k"]
        return make_model([node(op, inputs, "y", name=op.lower())], {"x": shape}, ["y"], {"k": constant})
    return Case(case_id, build, **kw)


def binary_inputs(case_id: str, op: str, shape_a=FMAP, shape_b=FMAP, **kw) -> Case:
    def build():
        return make_model([node(op, ["a", "b"], "y", name=op.lower())], {"a": shape_a, "b": shape_b}, ["y"])
    return Case(case_id, build, **kw)


def conv_residual(op: str) -> Case:
    """y = op(conv(x), x): both operands computed at run time, with different scales."""
    def build():
        rng = np.random.default_rng(21)
        inits = {"W": weights(rng, 4, 4, 3, 3, scale=2.0), "B": np.zeros(4, np.float32)}
        return make_model([node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1]), node(op, ["c", "x"], "y")],
                          {"x": FMAP}, ["y"], inits)
    return Case(f"conv_residual_{op.lower()}", build, ops=["conv2d", "add" if op != "Mul" else "mul"])


def squeeze_excite_mul() -> Case:
    """x * sigmoid(mean_hw(x)): a [1, C, 1, 1] run-time gate broadcast over the feature map."""
    def build():
        return make_model([node("GlobalAveragePool", ["x"], "g"), node("Sigmoid", ["g"], "s"),
                           node("Mul", ["x", "s"], "y")], {"x": FMAP}, ["y"])
    return Case("squeeze_excite_mul", build, ops=["avg_pool", "lut", "mul"])


CHANNEL = const(np.linspace(-1.5, 2.0, 4).reshape(4, 1, 1))
POSITIVE = const(np.linspace(0.5, 2.0, 4).reshape(1, 4, 1, 1))

CASES = [
    binary_inputs("add_same_shape", "Add", ops=["add"]),
    binary_inputs("sub_same_shape", "Sub", ops=["add"]),
    binary_inputs("mul_same_shape", "Mul", ops=["mul"], steps=PRODUCT_STEPS),
    binary_inputs("add_broadcast_channel_runtime", "Add", shape_b=[1, 4, 1, 1]),
    binary_inputs("mul_broadcast_channel_runtime", "Mul", shape_b=[1, 4, 1, 1], steps=PRODUCT_STEPS),
    binary_inputs("add_broadcast_pixel_runtime", "Add", shape_b=[1, 1, 5, 6]),
    binary_inputs("add_features", "Add", shape_a=[1, 10], shape_b=[1, 10]),
    binary_inputs("mul_features", "Mul", shape_a=[1, 10], shape_b=[1, 10], steps=PRODUCT_STEPS),
    binary_const("add_channel_const", "Add", CHANNEL, ops=["add"]),
    binary_const("add_channel_const_4d", "Add", CHANNEL.reshape(1, 4, 1, 1)),
    binary_const("add_scalar", "Add", const(0.75)),
    binary_const("add_const_first", "Add", CHANNEL, const_first=True),
    binary_const("sub_channel_const", "Sub", CHANNEL, ops=["add"]),
    binary_const("sub_const_minus_x", "Sub", CHANNEL, const_first=True),
    binary_const("sub_scalar", "Sub", const([0.5])),
    binary_const("mul_channel_const", "Mul", CHANNEL, ops=["mul"]),
    binary_const("mul_scalar", "Mul", const(-1.5)),
    binary_const("mul_const_first", "Mul", CHANNEL, const_first=True),
    binary_const("div_channel_const", "Div", POSITIVE, ops=["mul"]),
    binary_const("div_scalar", "Div", const(4.0)),
    binary_const("add_features_vector", "Add", const(np.linspace(-1, 1, 10)), shape=[1, 10]),
    binary_const("mul_features_vector", "Mul", const(np.linspace(-1, 1, 10)), shape=[1, 10]),
    binary_const("add_pixel_const", "Add", const(np.linspace(-1, 1, 30).reshape(1, 5, 6)), ops=["add"]),
    conv_residual("Add"),
    conv_residual("Sub"),
    conv_residual("Mul"),
    squeeze_excite_mul(),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
