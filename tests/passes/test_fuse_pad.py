"""passes/fuse_pad.py: a constant Pad of zeros over H, W (or L) before a conv / depthwise conv
becomes the conv's padding (added to its own), before an average pool without padding the pool's
padding with count_include_pad. Not fused: a non-zero value, padding of the channels, a max pool
after it, an average pool with pads of its own, a Pad whose output has other readers."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.passes import fuse_pad

from ..ops.harness import Case, const, make_model, node, weights
from .conftest import after_pass, check_numerics, node_of, ops


def pad_then(amounts, consumer, value=None, shape=(1, 3, 6, 6), extra_output=False, **attrs):
    def build():
        rng = np.random.default_rng(231)
        inits = {"pads": const(amounts, np.int64)}
        pad_inputs = ["x", "pads"]
        if value is not None:
            inits["v"] = const(value)
            pad_inputs.append("v")
        channels = shape[1] + amounts[1] + amounts[1 + len(shape)]
        nodes = [node("Pad", pad_inputs, "p", mode="constant")]
        if consumer == "conv":
            inits["W"] = weights(rng, 4, channels, *([3, 3] if len(shape) == 4 else [3]))
            nodes.append(node("Conv", ["p", "W"], "y", **attrs))
        elif consumer == "depthwise":
            inits["W"] = weights(rng, 2 * channels, 1, 3, 3)
            nodes.append(node("Conv", ["p", "W"], "y", group=channels, **attrs))
        elif consumer == "avgpool":
            nodes.append(node("AveragePool", ["p"], "y", kernel_shape=[3, 3], **attrs))
        elif consumer == "maxpool":
            nodes.append(node("MaxPool", ["p"], "y", kernel_shape=[3, 3], **attrs))
        return make_model(nodes, {"x": list(shape)}, ["y", *(["p"] if extra_output else [])], inits)
    return build


FUSED = [
    ("conv", pad_then([0, 0, 1, 2, 0, 0, 2, 1], "conv"), "conv2d", [1, 2, 2, 1]),
    ("conv_with_own_pads", pad_then([0, 0, 1, 0, 0, 0, 0, 1], "conv", pads=[1, 1, 1, 1]), "conv2d", [2, 1, 1, 2]),
    ("conv_explicit_zero", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "conv", value=0.0, strides=[2, 2]), "conv2d",
     [1, 1, 1, 1]),
    ("depthwise_multiplier", pad_then([0, 0, 0, 0, 0, 0, 1, 1], "depthwise", strides=[2, 2]), "depthwise_conv2d",
     [0, 0, 1, 1]),
    ("conv1d", pad_then([0, 0, 2, 0, 0, 1], "conv", shape=(1, 3, 10)), "conv2d", [0, 2, 0, 1]),
    ("avgpool", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "avgpool", strides=[2, 2]), "avg_pool", [1, 1, 1, 1]),
]


@pytest.mark.parametrize("case_id,build,op,pads", FUSED, ids=[f[0] for f in FUSED])
def test_fused(folder, run_case, case_id, build, op, pads) -> None:
    before, after, rewrites = after_pass(fuse_pad.run, build(), folder)
    assert ops(before) == ["pad", op] and ops(after) == [op] and rewrites == 1
    consumer = node_of(after, op)
    assert consumer.attrs["pads"] == pads
    assert consumer.inputs[0] == "x"
    if op == "avg_pool":
        assert consumer.attrs["count_include_pad"] is True
    kw = {"steps": 1.0, "sqnr_db": 20.0} if op == "avg_pool" else {}
    check_numerics(Case(f"pass_pad_{case_id}", build, ops=[op], **kw), run_case)


NOT_FUSED = [
    ("nonzero_value", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "conv", value=0.5), ["pad", "conv2d"]),
    ("channel_padding", pad_then([0, 1, 1, 1, 0, 1, 1, 1], "conv"), ["pad", "conv2d"]),
    ("maxpool", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "maxpool"), ["pad", "max_pool"]),
    ("avgpool_with_pads", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "avgpool", pads=[1, 1, 1, 1]), ["pad", "avg_pool"]),
    ("avgpool_ceil_mode", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "avgpool", strides=[2, 2], ceil_mode=1),
     ["pad", "avg_pool"]),
    ("shared_pad_output", pad_then([0, 0, 1, 1, 0, 0, 1, 1], "conv", extra_output=True), ["pad", "conv2d"]),
]


@pytest.mark.parametrize("case_id,build,expected", NOT_FUSED, ids=[f[0] for f in NOT_FUSED])
def test_not_fused(folder, run_case, case_id, build, expected) -> None:
    _, after, rewrites = after_pass(fuse_pad.run, build(), folder)
    assert ops(after) == expected and rewrites == 0
    kw = {"steps": 1.0, "sqnr_db": 20.0} if "avg_pool" in expected else {}
    check_numerics(Case(f"pass_pad_not_{case_id}", build, ops=expected, **kw), run_case)
