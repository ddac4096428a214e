"""BatchNormalization: folded into a preceding Conv / Gemm (no op left), and standalone (a 1x1
depthwise convolution), with non-default epsilon."""

from __future__ import annotations

import numpy as np

from .harness import Case, make_model, node, standard_tests, weights


def bn_params(rng: np.random.Generator, channels: int, prefix: str = "bn") -> dict[str, np.ndarray]:
    return {f"{prefix}_scale": (rng.uniform(0.5, 2.0, channels)).astype(np.float32),
            f"{prefix}_bias": (rng.standard_normal(channels) * 0.5).astype(np.float32),
            f"{prefix}_mean": (rng.standard_normal(channels) * 0.5).astype(np.float32),
            f"{prefix}_var": (rng.uniform(0.3, 3.0, channels)).astype(np.float32)}


def bn_node(x: str, y: str, prefix: str = "bn", **attrs: object):
    return node("BatchNormalization", [x, f"{prefix}_scale", f"{prefix}_bias", f"{prefix}_mean", f"{prefix}_var"],
                y, name=prefix, **attrs)


def conv_bn():
    rng = np.random.default_rng(1)
    inits = {"W": weights(rng, 8, 3, 3, 3), "B": np.zeros(8, np.float32), **bn_params(rng, 8)}
    return make_model([node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1]), bn_node("c", "y", epsilon=1e-3)],
                      {"x": [1, 3, 8, 8]}, ["y"], inits)


def conv_nobias_bn_relu():
    rng = np.random.default_rng(2)
    inits = {"W": weights(rng, 6, 4, 3, 3), **bn_params(rng, 6)}
    return make_model([node("Conv", ["x", "W"], "c"), bn_node("c", "b"), node("Relu", ["b"], "y")],
                      {"x": [1, 4, 7, 7]}, ["y"], inits)


def depthwise_bn():
    rng = np.random.default_rng(3)
    inits = {"W": weights(rng, 6, 1, 3, 3), **bn_params(rng, 6)}
    return make_model([node("Conv", ["x", "W"], "c", group=6, pads=[1, 1, 1, 1]), bn_node("c", "y")],
                      {"x": [1, 6, 6, 6]}, ["y"], inits)


def gemm_bn():
    rng = np.random.default_rng(4)
    inits = {"W": weights(rng, 10, 16), "C": np.zeros(10, np.float32), **bn_params(rng, 10)}
    return make_model([node("Gemm", ["x", "W", "C"], "g", transB=1), bn_node("g", "y")],
                      {"x": [1, 16]}, ["y"], inits)


def standalone_bn():
    rng = np.random.default_rng(5)
    return make_model([bn_node("x", "y", epsilon=1e-2)], {"x": [1, 5, 6, 6]}, ["y"], bn_params(rng, 5))


def bn_after_pool():
    rng = np.random.default_rng(6)
    return make_model([node("MaxPool", ["x"], "p", kernel_shape=[2, 2], strides=[2, 2]), bn_node("p", "y")],
                      {"x": [1, 4, 8, 8]}, ["y"], bn_params(rng, 4))


def bn_1d():
    rng = np.random.default_rng(7)
    inits = {"W": weights(rng, 6, 3, 3), **bn_params(rng, 6)}
    return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1]), bn_node("c", "y")],
                      {"x": [1, 3, 16]}, ["y"], inits)


def bn_on_features():
    """Standalone BatchNormalization of a [N, C] tensor (BatchNorm1d on features)."""
    rng = np.random.default_rng(8)
    return make_model([bn_node("x", "y")], {"x": [1, 12]}, ["y"], bn_params(rng, 12))


def bn_after_fused_relu():
    """Conv -> Relu -> BN: the BN cannot fold through the clamp, so it stays an op of its own."""
    rng = np.random.default_rng(9)
    inits = {"W": weights(rng, 4, 3, 3, 3), "B": np.zeros(4, np.float32), **bn_params(rng, 4)}
    return make_model([node("Conv", ["x", "W", "B"], "c"), node("Relu", ["c"], "r"), bn_node("r", "y")],
                      {"x": [1, 3, 6, 6]}, ["y"], inits)


CASES = [
    Case("conv_bn", conv_bn, ops=["conv2d"]),
    Case("conv_nobias_bn_relu", conv_nobias_bn_relu, ops=["conv2d"]),
    Case("depthwise_bn", depthwise_bn, ops=["depthwise_conv2d"]),
    Case("gemm_bn", gemm_bn, ops=["fully_connected"]),
    Case("conv1d_bn", bn_1d, ops=["conv2d"]),
    Case("standalone_bn", standalone_bn, ops=["depthwise_conv2d"]),
    Case("bn_after_maxpool", bn_after_pool, ops=["max_pool", "depthwise_conv2d"]),
    Case("bn_after_fused_relu", bn_after_fused_relu, ops=["conv2d", "depthwise_conv2d"]),
    Case("bn_on_features", bn_on_features),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
