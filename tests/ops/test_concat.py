"""Concat: along the channel axis of feature maps (NCHW axis 1, also given as -3), of features, of inputs
whose quantizations differ (requantized on the fly) or agree (copied); along any other user axis (H, W, the
time axis of 1-D maps, the batch, rank 5); with constant operands (a class token, a learned map)."""

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


def class_token() -> object:
    """A ViT-style class token: a constant [1, 1, D] prepended to the tokens [1, T, D] of a linear embedding."""
    rng = np.random.default_rng(33)
    inits = {"E": weights(rng, 6, 8), "cls": rng.standard_normal((1, 1, 8)).astype(np.float32)}
    return make_model([node("MatMul", ["x", "E"], "t"), node("Concat", ["cls", "t"], "y", axis=1)],
                      {"x": [1, 5, 6]}, ["y"], inits)


def fmap_axis(axis: int, constant: bool = False) -> object:
    """Two convs of one input concatenated along the user's axis `axis` (or a conv and a constant map)."""
    def build():
        rng = np.random.default_rng(34 + axis)
        inits = {"W1": weights(rng, 4, 3, 3, 3), "W2": weights(rng, 4, 3, 1, 1, scale=2.0),
                 "W3": weights(rng, 2, 8 if axis == 1 else 4, 1, 1)}
        nodes = [node("Conv", ["x", "W1"], "a", pads=[1, 1, 1, 1])]
        if constant:
            inits["m"] = rng.standard_normal((1, 4, 5, 6)).astype(np.float32)
            second = "m"
        else:
            nodes.append(node("Conv", ["x", "W2"], "b"))
            second = "b"
        nodes += [node("Concat", ["a", second], "c", axis=axis), node("Conv", ["c", "W3"], "y")]
        return make_model(nodes, {"x": [1, 3, 5, 6]}, ["y"], inits)
    return build


def conv1d_time() -> onnx.ModelProto:
    """1-D feature maps concatenated along time (the user's axis 2 of [N, C, L])."""
    rng = np.random.default_rng(35)
    inits = {"W1": weights(rng, 3, 2, 3), "W2": weights(rng, 3, 2, 1), "W3": weights(rng, 2, 3, 3)}
    return make_model([node("Conv", ["x", "W1"], "a", pads=[1, 1]), node("Conv", ["x", "W2"], "b"),
                       node("Concat", ["a", "b"], "c", axis=2), node("Conv", ["c", "W3"], "y")],
                      {"x": [1, 2, 7]}, ["y"], inits)


CASES = [
    Case("concat_class_token", class_token, ops=["fully_connected", "concat"]),
    Case("concat_fmap_height", fmap_axis(2), ops=["conv2d", "conv2d", "concat", "conv2d"], sqnr_db=28.0),
    Case("concat_fmap_width", fmap_axis(-1), ops=["conv2d", "conv2d", "concat", "conv2d"], sqnr_db=28.0),
    Case("concat_fmap_constant_channels", fmap_axis(1, constant=True), ops=["conv2d", "concat", "conv2d"],
         sqnr_db=28.0),
    Case("concat_conv1d_time", conv1d_time, ops=["conv2d", "conv2d", "concat", "conv2d"], sqnr_db=28.0),
    concat_inputs("concat_batch_axis", [[1, 3, 4], [1, 3, 4]], 0, steps=1.0),
    concat_inputs("concat_rank5_axis3", [[1, 2, 3, 2, 4], [1, 2, 3, 3, 4]], 3, steps=1.0),
    concat_inputs("concat_fmaps_axis1", [[1, 3, 4, 5], [1, 5, 4, 5]], 1),
    concat_inputs("concat_fmaps_axis_minus3", [[1, 2, 4, 4], [1, 3, 4, 4], [1, 1, 4, 4]], -3),
    concat_inputs("concat_features", [[1, 6], [1, 4]], 1),
    Case("concat_conv1d_branches", conv1d_branches, ops=["conv2d", "conv2d", "concat"]),
    Case("concat_conv_branches", branches, ops=["conv2d", "conv2d", "concat", "conv2d"], sqnr_db=28.0),
    Case("concat_max_pools", pooled, ops=["max_pool", "max_pool", "concat"], steps=1.0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def test_computed_inputs_take_the_concat_parameters(run_case) -> None:
    """A conv read only by the concat writes in the concat's parameters (quantize._concat_reader): the concat
    copies it. The max pools of `concat_max_pools` keep their input's parameters (they only move values), so
    the concat requantizes them."""
    graph = run_case(next(c for c in CASES if c.id == "concat_conv_branches")).model.graph
    concat = next(n for n in graph.nodes if n.op == "concat")
    out = graph.tensors[concat.outputs[0]].quant
    assert all(graph.tensors[name].quant.same_as(out) for name in concat.inputs)
    assert list(concat.params["requant"]) == [0, 0]
    pools = run_case(next(c for c in CASES if c.id == "concat_max_pools")).model.graph
    assert list(next(n for n in pools.nodes if n.op == "concat").params["requant"]) == [1, 1]
