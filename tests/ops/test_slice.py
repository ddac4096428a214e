"""Slice and Split (ops/slice.py): constant starts/ends/axes/steps on the user's axes, negative indices,
clamping, steps other than 1 (negative too), equal and explicit splits and opset 18's num_outputs. Each
output is a strided copy or a view; the values only move, so the bound is half a step alone and the
conv's bound behind a convolution."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

I64 = np.int64


def sliced(case_id: str, shape, starts, ends, axes=None, steps=None, ops=None, opset=13):
    def build():
        inits = {"starts": const(starts, I64), "ends": const(ends, I64)}
        inputs = ["x", "starts", "ends"]
        if axes is not None:
            inits["axes"] = const(axes, I64)
            inputs.append("axes")
        if steps is not None:
            inits["steps"] = const(steps, I64)
            inputs.append("steps")
        return make_model([node("Slice", inputs, "y")], {"x": list(shape)}, ["y"], inits, opset=opset)
    return Case(case_id, build, ops=ops, steps=0.5)


def conv_slice_conv(case_id: str, starts, ends, axes, steps=None, ops=None, shape=(1, 4, 6, 7), kept=6):
    """Conv -> Slice -> Conv: a feature map stored channels-last, sliced on the user's NCHW axes."""
    def build():
        rng = np.random.default_rng(11)
        inits = {"W1": weights(rng, 6, shape[1], 3, 3), "W2": weights(rng, 3, kept, 1, 1),
                 "starts": const(starts, I64), "ends": const(ends, I64), "axes": const(axes, I64)}
        inputs = ["c", "starts", "ends", "axes"]
        if steps is not None:
            inits["steps"] = const(steps, I64)
            inputs.append("steps")
        return make_model([node("Conv", ["x", "W1"], "c", pads=[1, 1, 1, 1]), node("Slice", inputs, "s"),
                           node("Conv", ["s", "W2"], "y")], {"x": list(shape)}, ["y"], inits)
    return Case(case_id, build, ops=ops)


def tcn_chomp() -> object:
    """A temporal conv net block: causal dilated Conv1d (padded both sides, the right `pad` chomped off by a
    Slice on the time axis), Relu, a second one, and the residual."""
    rng = np.random.default_rng(12)
    pad = 4
    inits = {"W1": weights(rng, 5, 3, 3), "W2": weights(rng, 5, 5, 3), "Wd": weights(rng, 5, 3, 1),
             "s": const([0], I64), "e": const([-pad], I64), "ax": const([2], I64)}
    nodes = [node("Conv", ["x", "W1"], "c1", pads=[pad, pad], dilations=[2]),
             node("Slice", ["c1", "s", "e", "ax"], "t1"), node("Relu", ["t1"], "r1"),
             node("Conv", ["r1", "W2"], "c2", pads=[pad, pad], dilations=[2]),
             node("Slice", ["c2", "s", "e", "ax"], "t2"), node("Relu", ["t2"], "r2"),
             node("Conv", ["x", "Wd"], "d"), node("Add", ["r2", "d"], "y")]
    return make_model(nodes, {"x": [1, 3, 16]}, ["y"], inits)


def split_model(case_id: str, shape, axis, sizes=None, outputs=2, num_outputs=None, opset=13, ops=None):
    def build():
        names = [f"y{k}" for k in range(outputs)]
        inits = {}
        inputs = ["x"]
        attrs = {"axis": axis}
        if sizes is not None:
            inits["split"] = const(sizes, I64)
            inputs.append("split")
        if num_outputs is not None:
            attrs["num_outputs"] = num_outputs
        return make_model([node("Split", inputs, names, **attrs)], {"x": list(shape)}, names, inits, opset=opset)
    return Case(case_id, build, ops=ops, steps=0.5)


def shufflenet_split() -> object:
    """ShuffleNetV2's unit as torch.export writes it: Split of the channels in halves, one half through a
    1x1 conv, Concat back."""
    rng = np.random.default_rng(13)
    inits = {"split": const([4, 4], I64), "W": weights(rng, 4, 4, 1, 1)}
    nodes = [node("Split", ["x", "split"], ["a", "b"], axis=1), node("Conv", ["b", "W"], "bc"),
             node("Relu", ["bc"], "br"), node("Concat", ["a", "br"], "y", axis=1)]
    return make_model(nodes, {"x": [1, 8, 5, 5]}, ["y"], inits)


CASES = [
    sliced("slice_last_axis", (1, 4, 10), [2], [8], [2], ops=["copy"]),
    sliced("slice_negative_indices", (1, 4, 10), [-7], [-1], [-1]),
    sliced("slice_clamped_bounds", (1, 6, 5), [-100, 2], [100, 2**62], [1, 2]),
    sliced("slice_step_2", (1, 3, 11), [1], [11], [2], [2]),
    sliced("slice_negative_step", (1, 3, 9), [-1], [-(2**63)], [2], [-1]),  # reverse the whole axis
    sliced("slice_negative_step_3", (1, 5, 9), [7, 4], [0, -6], [2, 1], [-3, -1]),
    sliced("slice_default_axes", (2, 5, 4), [0, 1], [1, 4], ops=["copy"]),
    sliced("slice_rank5", (1, 2, 3, 4, 5), [1, 1], [3, 5], [2, 4], ops=["copy"]),
    # Rows of a plain matrix from a 4-byte boundary: a contiguous run, a view with no code.
    Case("slice_rows_view", lambda: make_model(
        [node("Slice", ["x", "s", "e", "ax"], "t"), node("Relu", ["t"], "y")], {"x": [1, 6, 8]}, ["y"],
        {"s": const([2], I64), "e": const([5], I64), "ax": const([1], I64)}), ops=["slice_view", "lut"], steps=1.0),
    conv_slice_conv("slice_fmap_channels", [1], [5], [1], kept=4, ops=["conv2d", "copy", "conv2d"]),
    conv_slice_conv("slice_fmap_height_width", [1, -5], [5, -1], [2, 3], ops=["conv2d", "copy", "conv2d"]),
    conv_slice_conv("slice_fmap_all_axes_steps", [3, 5, 6], [0, 0, 0], [1, 2, 3], [-2, -2, -3], kept=2,
                    ops=["conv2d", "copy", "conv2d"]),
    Case("slice_tcn_chomp", tcn_chomp, sqnr_db=28.0),
    split_model("split_equal_channels", (1, 6, 3, 4), 1, ops=["copy", "copy"]),
    split_model("split_sizes_last_axis", (1, 3, 10), -1, sizes=[3, 2, 5], outputs=3),
    split_model("split_num_outputs_uneven", (1, 10, 4), 1, outputs=3, num_outputs=3, opset=18),
    Case("split_shufflenet_unit", shufflenet_split, ops=["copy", "copy", "conv2d", "concat"]),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
