"""passes/fold_batchnorm.py: BatchNormalization folded into the preceding conv / depthwise conv /
fully connected layer (weights scaled per output channel, bias shifted), or turned into a 1x1
depthwise convolution when there is no such producer, it has a fused clamp, or its output has
other readers."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.passes import fold_batchnorm

from ..ops.harness import Case, make_model, node, weights
from .conftest import after_pass, check_numerics, node_of, ops


def bn(rng, channels, prefix="bn"):
    return {f"{prefix}_s": rng.uniform(0.5, 2.0, channels).astype(np.float32),
            f"{prefix}_b": rng.standard_normal(channels).astype(np.float32),
            f"{prefix}_m": (rng.standard_normal(channels) * 0.3).astype(np.float32),
            f"{prefix}_v": rng.uniform(0.2, 2.0, channels).astype(np.float32)}


def bn_node(x, y, prefix="bn", epsilon=1e-5):
    return node("BatchNormalization", [x, f"{prefix}_s", f"{prefix}_b", f"{prefix}_m", f"{prefix}_v"], y,
                name=prefix, epsilon=epsilon)


def conv_bn(group=1, out_channels=6, epsilon=1e-3):
    rng = np.random.default_rng(201)
    inits = {"W": weights(rng, out_channels, 6 // group, 3, 3),
             "B": rng.standard_normal(out_channels).astype(np.float32), **bn(rng, out_channels)}
    return make_model([node("Conv", ["x", "W", "B"], "c", group=group, pads=[1, 1, 1, 1]),
                       bn_node("c", "y", epsilon=epsilon)], {"x": [1, 6, 5, 5]}, ["y"], inits)


def gemm_bn():
    rng = np.random.default_rng(202)
    return make_model([node("Gemm", ["x", "W"], "g", transB=1), bn_node("g", "y")], {"x": [1, 8]}, ["y"],
                      {"W": weights(rng, 5, 8), **bn(rng, 5)})


def shared_conv_bn():
    """The conv output also feeds an Add: folding would change what the Add sees."""
    rng = np.random.default_rng(203)
    inits = {"W": weights(rng, 4, 3, 3, 3), **bn(rng, 4)}
    return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), bn_node("c", "b"),
                       node("Add", ["b", "c"], "y")], {"x": [1, 3, 5, 5]}, ["y"], inits)


def conv_relu_bn():
    rng = np.random.default_rng(204)
    inits = {"W": weights(rng, 4, 3, 3, 3), **bn(rng, 4)}
    return make_model([node("Conv", ["x", "W"], "c"), node("Relu", ["c"], "r"), bn_node("r", "y")],
                      {"x": [1, 3, 5, 5]}, ["y"], inits)


def input_bn():
    rng = np.random.default_rng(205)
    return make_model([bn_node("x", "y", epsilon=0.1)], {"x": [1, 5, 4, 4]}, ["y"], bn(rng, 5))


@pytest.mark.parametrize("group,out_channels,op", [(1, 6, "conv2d"), (6, 6, "depthwise_conv2d"),
                                                   (6, 12, "depthwise_conv2d"), (3, 6, "conv2d")])
def test_folded_into_conv(folder, run_case, group, out_channels, op) -> None:
    model = conv_bn(group, out_channels)
    before, after, rewrites = after_pass(fold_batchnorm.run, model, folder)
    assert ops(before) == [op, "batch_norm"] and ops(after) == [op] and rewrites == 1
    conv = node_of(after, op)
    assert conv.outputs == ["y"]
    # w' = w * a[c], b' = b * a[c] + shift[c], with a = gamma / sqrt(var + epsilon) of the node's epsilon
    init = {i.name: onnx_array(i) for i in model.graph.initializer}
    a = init["bn_s"] / np.sqrt(init["bn_v"].astype(np.float64) + 1e-3)
    expected_bias = init["B"] * a + init["bn_b"] - init["bn_m"] * a
    np.testing.assert_allclose(after.tensors[conv.inputs[2]].data, expected_bias, rtol=1e-5, atol=1e-6)
    w_before = before.tensors[node_of(before, op).inputs[1]].data
    axis = 0 if op == "conv2d" else 3
    shape = [1, 1, 1, 1]
    shape[axis] = -1
    np.testing.assert_allclose(after.tensors[conv.inputs[1]].data, w_before * a.reshape(shape), rtol=1e-5)
    check_numerics(Case(f"pass_fold_bn_{op}_{group}_{out_channels}", lambda: model, ops=[op]), run_case)


def test_folded_into_fully_connected(folder, run_case) -> None:
    before, after, rewrites = after_pass(fold_batchnorm.run, gemm_bn(), folder)
    assert ops(before) == ["fully_connected", "batch_norm"] and ops(after) == ["fully_connected"] and rewrites == 1
    check_numerics(Case("pass_fold_bn_fc", gemm_bn, ops=["fully_connected"]), run_case)


@pytest.mark.parametrize("build,expected", [
    (shared_conv_bn, ["conv2d", "depthwise_conv2d", "add"]),
    (input_bn, ["depthwise_conv2d"]),
])
def test_standalone_becomes_depthwise(folder, run_case, build, expected) -> None:
    _, after, rewrites = after_pass(fold_batchnorm.run, build(), folder)
    assert ops(after) == expected and rewrites == 1
    dw = node_of(after, "depthwise_conv2d")
    assert dw.attrs["kernel"] == [1, 1] and dw.attrs["depth_multiplier"] == 1
    assert after.tensors[dw.inputs[1]].shape[:3] == (1, 1, 1)
    check_numerics(Case(f"pass_fold_bn_{build.__name__}", build, ops=expected), run_case)


def test_not_folded_through_a_clamp(folder, run_case) -> None:
    """Conv -> Relu -> BN: once the Relu is fused the BN must not fold into the conv."""
    from tinygen.passes import fuse_activation

    _, after, _ = after_pass(lambda g: fuse_activation.run(g) + fold_batchnorm.run(g), conv_relu_bn(), folder)
    assert ops(after) == ["conv2d", "depthwise_conv2d"]
    assert node_of(after, "conv2d").attrs["activation"] == {"min": 0.0, "max": None}
    check_numerics(Case("pass_fold_bn_after_relu", conv_relu_bn, ops=["conv2d", "depthwise_conv2d"]), run_case)


def onnx_array(initializer):
    from onnx import numpy_helper

    return numpy_helper.to_array(initializer)
