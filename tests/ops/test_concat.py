"""Concat along the channel axis: of feature maps (NCHW axis 1, also given as -3), of features, of
inputs whose quantizations differ (requantized on the fly) or agree (copied)."""

from __future__ import annotations

import numpy as np
import onnx

from .harness import Case, make_model, node, standard_tests, weights


def concat_inputs(case_id: str, shapes: list[list[int]], axis: int, **kw) -> Case:
    def build():
        names = [f"x{i}" for i in range(len(shapes))]
        return make_model([node("Concat", names, "y", axis=axis)], dict(zip(names, shapes, strict=True)), ["y"])
    return Case(case_id, build, ops=["concat"], **kw)


def branches() -> onnx.ModelProto:
    """Two convs of one input (an inception-style block), concatenated, then a 1x1 conv."""
    rng = np.random.default_rng(31)
    inits = {"W1": weights(rng, 4, 3, 1, 1), "W2": weights(rng, 6, 3, 3, 3, scale=3.0), "W3": weights(rng, 5, 10, 1, 1)}
    return make_model([node("Conv", ["x", "W1"], "a"), node("Conv", ["x", "W2"], "b", pads=[1, 1, 1, 1]),
                       node("Relu", ["a"], "ar"),
                       node("Concat", ["ar", "b"], "c", axis=1), node("Conv", ["c", "W3"], "y")],
                      {"x": [1, 3, 6, 6]}, ["y"], inits)


def conv1d_branches() -> onnx.ModelProto:
    """1-D feature maps [N, C, L] (channels-last in storage) concatenated on C."""
    rng = np.random.default_rng(32)
    inits = {"W1": weights(rng, 3, 2, 3), "W2": weights(rng, 4, 2, 1, scale=4.0)}
    return make_model([node("Conv", ["x", "W1"], "a", pads=[1, 1]), node("Conv", ["x", "W2"], "b"),
                       node("Concat", ["a", "b"], "y", axis=1)], {"x": [1, 2, 12]}, ["y"], inits)


def pooled() -> onnx.ModelProto:
    """Max pools of one tensor (sharing its quantization), concatenated: the output range is the
    union of the inputs', calibrated, so each input is requantized (0.5 + 0.5 step)."""
    return make_model([node("MaxPool", ["x"], "a", kernel_shape=[2, 2], strides=[2, 2]),
                       node("MaxPool", ["x"], "b", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                       node("Concat", ["a", "b"], "y", axis=1)], {"x": [1, 3, 8, 8]}, ["y"])


CASES = [
    concat_inputs("concat_fmaps_axis1", [[1, 3, 4, 5], [1, 5, 4, 5]], 1),
    concat_inputs("concat_fmaps_axis_minus3", [[1, 2, 4, 4], [1, 3, 4, 4], [1, 1, 4, 4]], -3),
    concat_inputs("concat_features", [[1, 6], [1, 4]], 1),
    Case("concat_conv1d_branches", conv1d_branches, ops=["conv2d", "conv2d", "concat"]),
    Case("concat_conv_branches", branches, ops=["conv2d", "conv2d", "concat", "conv2d"], sqnr_db=28.0),
    Case("concat_max_pools", pooled, ops=["max_pool", "max_pool", "concat"], steps=1.0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
