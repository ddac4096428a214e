"""Relu and Clip (Relu6 and general min/max, as opset-13 inputs with either bound omitted): fused
into the conv / fully connected / add that produces their input, or run as a table when the
producer cannot take a clamp (a max pool, the model input) or has other readers."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights


def conv_then(*activation_nodes, inits=None, out="y", extra_out=None):
    def build():
        rng = np.random.default_rng(11)
        all_inits = {"W": weights(rng, 6, 3, 3, 3), "B": (rng.standard_normal(6) * 0.3).astype(np.float32),
                     **(inits or {})}
        nodes = [node("Conv", ["x", "W", "B"], "c", name="conv", pads=[1, 1, 1, 1]), *activation_nodes]
        return make_model(nodes, {"x": [1, 3, 6, 6]}, [out, *([extra_out] if extra_out else [])], all_inits)
    return build


def gemm_then(*activation_nodes, inits=None):
    def build():
        rng = np.random.default_rng(12)
        all_inits = {"W": weights(rng, 10, 16), "B": (rng.standard_normal(10) * 0.3).astype(np.float32),
                     **(inits or {})}
        nodes = [node("Gemm", ["x", "W", "B"], "g", name="gemm", transB=1), *activation_nodes]
        return make_model(nodes, {"x": [1, 16]}, ["y"], all_inits)
    return build


def unary_model(*nodes_, inits=None, shape=(1, 4, 5, 5)):
    def build():
        return make_model(list(nodes_), {"x": list(shape)}, ["y"], inits or {})
    return build


RELU6 = {"lo": const(0.0), "hi": const(6.0)}
CLIP = {"lo": const(-0.5), "hi": const(1.25)}
# A clamp range without 0: the int8 range must still hold 0 (quantized zero), so the clamp itself,
# not the quantization range, has to cut values below 0.5 (and above -0.5).
POSITIVE_CLIP = {"lo": const(0.5), "hi": const(2.0)}
NEGATIVE_CLIP = {"lo": const(-2.0), "hi": const(-0.5)}

CASES = [
    # Fused into the producer's output clamp: no op left for the activation.
    Case("conv_relu", conv_then(node("Relu", ["c"], "y")), ops=["conv2d"]),
    Case("conv_relu6_clip", conv_then(node("Clip", ["c", "lo", "hi"], "y"), inits=RELU6), ops=["conv2d"]),
    Case("conv_clip_min_max", conv_then(node("Clip", ["c", "lo", "hi"], "y"), inits=CLIP), ops=["conv2d"]),
    Case("conv_clip_min_only", conv_then(node("Clip", ["c", "lo"], "y"), inits=CLIP), ops=["conv2d"]),
    Case("conv_clip_max_only", conv_then(node("Clip", ["c", "", "hi"], "y"), inits=CLIP), ops=["conv2d"]),
    Case("conv_relu_then_clip", conv_then(node("Relu", ["c"], "r"), node("Clip", ["r", "lo", "hi"], "y"),
                                          inits=CLIP), ops=["conv2d"]),
    Case("conv_clip_positive_range", conv_then(node("Clip", ["c", "lo", "hi"], "y"), inits=POSITIVE_CLIP),
         ops=["conv2d"]),
    Case("conv_clip_negative_range", conv_then(node("Clip", ["c", "lo", "hi"], "y"), inits=NEGATIVE_CLIP),
         ops=["conv2d"]),
    Case("gemm_clip_positive_range", gemm_then(node("Clip", ["g", "lo", "hi"], "y"), inits=POSITIVE_CLIP),
         ops=["fully_connected"]),
    Case("gemm_relu", gemm_then(node("Relu", ["g"], "y")), ops=["fully_connected"]),
    Case("gemm_relu6", gemm_then(node("Clip", ["g", "lo", "hi"], "y"), inits=RELU6), ops=["fully_connected"]),
    Case("add_relu", unary_model(node("Add", ["x", "x2"], "s"), node("Relu", ["s"], "y"),
                                 inits={"x2": const(np.linspace(-1, 1, 4).reshape(4, 1, 1))}), ops=["add"]),
    # Left standing: a table of its own.
    Case("relu_on_input", unary_model(node("Relu", ["x"], "y")), ops=["lut"], steps=1.0),
    Case("relu6_on_input", unary_model(node("Clip", ["x", "lo", "hi"], "y"), inits=RELU6), ops=["lut"], steps=1.0),
    Case("clip_on_input", unary_model(node("Clip", ["x", "lo", "hi"], "y"), inits=CLIP), ops=["lut"]),
    Case("maxpool_relu", unary_model(node("MaxPool", ["x"], "p", kernel_shape=[2, 2]), node("Relu", ["p"], "y")),
         ops=["max_pool", "lut"], steps=1.0),
    # The conv output is also a graph output: the clamp cannot replace it.
    Case("conv_relu_shared", conv_then(node("Relu", ["c"], "y"), extra_out="c"), ops=["conv2d", "lut"]),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
