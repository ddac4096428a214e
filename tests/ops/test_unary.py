"""Elementwise functions run as 256-entry tables (Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu,
Elu, Gelu, Softplus, Neg, scalar PRelu), PRelu with a slope per channel, and Softmax over the
innermost axis (features, and the channel axis of a feature map).

A table's bound is 0.5 step + L * 0.5 step for a function of slope at most L (module doc of
harness.py): L <= 1 for all of these except HardSwish (1.5 at x = 3) and Gelu (~1.13)."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

FMAP = [1, 4, 5, 5]


def unary(case_id: str, op: str, shape=FMAP, opset: int = 13, inits=None, extra_inputs=(), ops=("lut",),
          steps: float = 1.0, **attrs) -> Case:
    def build():
        return make_model([node(op, ["x", *extra_inputs], "y", name=op.lower(), **attrs)], {"x": list(shape)},
                          ["y"], inits or {}, opset=opset)
    return Case(case_id, build, ops=list(ops), steps=steps, input_scale={"x": 2.0})


def conv1d_prelu():
    """nn.PReLU(C) after a Conv1d: the slope has shape [C, 1]."""
    rng = np.random.default_rng(61)
    inits = {"W": weights(rng, 4, 3, 3), "s": const([0.1, 0.2, -0.3, 0.4]).reshape(4, 1)}
    return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1]), node("PRelu", ["c", "s"], "y")],
                      {"x": [1, 3, 9]}, ["y"], inits)


def gelu_decomposed():
    """nn.GELU() as both PyTorch exporters write it below opset 20: x * 0.5 * (1 + Erf(x / sqrt 2))."""
    inits = {"sqrt2": const(np.sqrt(2.0)), "one": const(1.0), "half": const(0.5)}
    nodes = [node("Div", ["x", "sqrt2"], "d"), node("Erf", ["d"], "e"), node("Add", ["e", "one"], "a"),
             node("Mul", ["x", "a"], "m"), node("Mul", ["m", "half"], "y")]
    return make_model(nodes, {"x": [1, 16]}, ["y"], inits)


SLOPES = {"slope_c11": const([0.1, 0.25, -0.2, 0.5]).reshape(4, 1, 1)}

CASES = [
    unary("sigmoid", "Sigmoid"),
    unary("tanh", "Tanh"),
    unary("hardsigmoid_default", "HardSigmoid"),
    unary("hardsigmoid_custom", "HardSigmoid", alpha=0.25, beta=0.4),
    unary("hardswish", "HardSwish", opset=14, steps=1.25),
    unary("leakyrelu_default", "LeakyRelu"),
    unary("leakyrelu_alpha", "LeakyRelu", alpha=0.2),
    unary("elu", "Elu", alpha=0.8),
    unary("gelu_erf", "Gelu", opset=20, steps=1.1),
    unary("gelu_tanh", "Gelu", opset=20, approximate="tanh", steps=1.1),
    unary("softplus", "Softplus"),
    unary("neg", "Neg"),
    unary("erf", "Erf"),
    # passes/fuse_elementwise.py turns the five ops into one table (before: 25 dB over five roundings).
    Case("gelu_decomposed", gelu_decomposed, ops=["lut"]),
    unary("sigmoid_features", "Sigmoid", shape=(1, 12)),
    unary("prelu_scalar", "PRelu", inits={"slope": const([0.2])}, extra_inputs=["slope"]),
    unary("prelu_per_channel", "PRelu", inits=SLOPES, extra_inputs=["slope_c11"], ops=["prelu"], steps=1.5),
    unary("prelu_per_feature", "PRelu", shape=(1, 6), inits={"s": const(np.linspace(-0.3, 0.6, 6))},
          extra_inputs=["s"], ops=["prelu"], steps=1.5),
    Case("conv1d_prelu_per_channel", conv1d_prelu, ops=["conv2d", "prelu"]),
    unary("softmax_features", "Softmax", shape=(1, 10), ops=["softmax"], steps=3.0),
    unary("softmax_features_axis1", "Softmax", shape=(1, 10), axis=1, ops=["softmax"], steps=3.0),
    unary("softmax_channels", "Softmax", axis=1, ops=["softmax"], steps=3.0),
    unary("softmax_opset11", "Softmax", shape=(1, 10), opset=11, axis=1, ops=["softmax"], steps=3.0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
