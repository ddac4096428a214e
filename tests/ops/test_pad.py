"""Constant Pad: zeros over H, W fused into the following conv / average pool (Pad disappears),
and standalone (non-zero value, padding channels or the batch-free axes of features, before a
max pool, as the model output); pads as an opset-13 input and with opset-18 `axes`."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights


def pad_then(case_id: str, pads: list[int], after: str | None, *, value: float | None = None, opset: int = 13,
             axes: list[int] | None = None, shape=(1, 3, 6, 6), ops=None, **kw) -> Case:
    def build():
        rng = np.random.default_rng(51)
        inits = {"pads": const(pads, np.int64)}
        pad_inputs = ["x", "pads"]
        if value is not None or axes is not None:
            pad_inputs.append("value" if value is not None else "")
            if value is not None:
                inits["value"] = const(value)
        if axes is not None:
            pad_inputs.append("axes")
            inits["axes"] = const(axes, np.int64)
        nodes = [node("Pad", pad_inputs, "p" if after else "y", name="pad", mode="constant")]
        if after == "conv":
            channels = shape[1] + (pads[1] + pads[5] if len(pads) == 8 else 0)
            inits["W"] = weights(rng, 4, channels, 3, 3)
            nodes.append(node("Conv", ["p", "W"], "y", name="conv"))
        elif after == "depthwise":
            inits["W"] = weights(rng, shape[1], 1, 3, 3)
            nodes.append(node("Conv", ["p", "W"], "y", name="conv", group=shape[1], strides=[2, 2]))
        elif after == "avgpool":
            nodes.append(node("AveragePool", ["p"], "y", kernel_shape=[3, 3], strides=[2, 2]))
        elif after == "maxpool":
            nodes.append(node("MaxPool", ["p"], "y", kernel_shape=[2, 2], strides=[2, 2]))
        return make_model(nodes, {"x": list(shape)}, ["y"], inits, opset=opset)
    return Case(case_id, build, ops=ops, **kw)


CASES = [
    pad_then("pad_conv_fused", [0, 0, 1, 1, 0, 0, 1, 1], "conv", ops=["conv2d"]),
    pad_then("pad_conv_asym_fused", [0, 0, 0, 1, 0, 0, 2, 0], "conv", ops=["conv2d"]),
    pad_then("pad_depthwise_fused_tf_style", [0, 0, 0, 0, 0, 0, 1, 1], "depthwise", ops=["depthwise_conv2d"]),
    pad_then("pad_conv_explicit_zero_value", [0, 0, 1, 1, 0, 0, 1, 1], "conv", value=0.0, ops=["conv2d"]),
    pad_then("pad_conv_opset18_axes", [1, 1, 1, 1], "conv", axes=[2, 3], opset=18, ops=["conv2d"]),
    pad_then("pad_avgpool_fused", [0, 0, 1, 1, 0, 0, 1, 1], "avgpool", ops=["avg_pool"], steps=1.0,
             sqnr_db=20.0),
    pad_then("pad_conv_nonzero_value", [0, 0, 1, 1, 0, 0, 1, 1], "conv", value=0.5, ops=["pad", "conv2d"]),
    pad_then("pad_maxpool", [0, 0, 1, 1, 0, 0, 1, 1], "maxpool", ops=["pad", "max_pool"], steps=0.5),
    pad_then("pad_standalone", [0, 0, 2, 1, 0, 0, 0, 3], None, ops=["pad"], steps=0.5),
    pad_then("pad_standalone_value", [0, 0, 1, 1, 0, 0, 1, 1], None, value=-1.0, ops=["pad"], steps=0.5),
    pad_then("pad_channels", [0, 1, 0, 0, 0, 2, 0, 0], "conv", ops=["pad", "conv2d"]),
    pad_then("pad_channels_and_hw", [0, 1, 1, 0, 0, 0, 0, 1], None, ops=["pad"], steps=0.5),
    pad_then("pad_features", [0, 2, 0, 3], None, shape=(1, 6), ops=["pad"], steps=0.5),
    pad_then("pad_1d_conv_input", [0, 0, 2, 0, 0, 1], None, shape=(1, 3, 8), ops=["pad"], steps=0.5),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
