"""Transpose of any permutation up to rank 6 (ops/reshape.py Transpose -> ops/copy.py), of plain tensors and
of channels-last feature maps, and the layout idioms built from it: ShuffleNet's channel shuffle (Reshape to
rank 5, Transpose, Reshape back) and depth-to-space (rank 6), each folded into one strided copy by
passes/fold_copies.py."""

from __future__ import annotations

import numpy as np
import pytest

from .harness import Case, const, make_model, node, standard_tests, weights

I64 = np.int64


def transposed(case_id: str, shape, perm, ops=None):
    def build():
        return make_model([node("Transpose", ["x"], "y", perm=perm)], {"x": list(shape)}, ["y"])
    return Case(case_id, build, ops=ops, steps=0.5)


def channel_shuffle(groups: int = 2, channels: int = 8) -> object:
    """conv -> channel shuffle (torchvision's ShuffleNetV2 channel_shuffle) -> conv."""
    def build():
        rng = np.random.default_rng(41)
        inits = {"W1": weights(rng, channels, 3, 3, 3), "W2": weights(rng, 4, channels, 1, 1),
                 "s5": const([1, groups, channels // groups, 5, 6], I64), "s4": const([1, channels, 5, 6], I64)}
        nodes = [node("Conv", ["x", "W1"], "c", pads=[1, 1, 1, 1]), node("Reshape", ["c", "s5"], "r5"),
                 node("Transpose", ["r5"], "t5", perm=[0, 2, 1, 3, 4]), node("Reshape", ["t5", "s4"], "r4"),
                 node("Conv", ["r4", "W2"], "y")]
        return make_model(nodes, {"x": [1, 3, 5, 6]}, ["y"], inits)
    return build


def concat_shuffle() -> object:
    """ShuffleNetV2's unit end: two branches concatenated on channels, then shuffled -- one concat of single
    channels taken in turn (the shuffle folds into the concat's addressing), then the next unit's halves."""
    rng = np.random.default_rng(44)
    inits = {"W1": weights(rng, 4, 3, 1, 1), "W2": weights(rng, 4, 3, 3, 3), "W3": weights(rng, 4, 4, 1, 1),
             "s5": const([1, 2, 4, 5, 6], I64), "s4": const([1, 8, 5, 6], I64), "split": const([4, 4], I64)}
    nodes = [node("Conv", ["x", "W1"], "a"), node("Conv", ["x", "W2"], "b", pads=[1, 1, 1, 1]),
             node("Concat", ["a", "b"], "c", axis=1), node("Reshape", ["c", "s5"], "r5"),
             node("Transpose", ["r5"], "t5", perm=[0, 2, 1, 3, 4]), node("Reshape", ["t5", "s4"], "r4"),
             node("Split", ["r4", "split"], ["h1", "h2"], axis=1), node("Conv", ["h2", "W3"], "h3"),
             node("Concat", ["h1", "h3"], "y", axis=1)]
    return make_model(nodes, {"x": [1, 3, 5, 6]}, ["y"], inits)


def depth_to_space() -> object:
    """PixelShuffle(2) as exporters write it: Reshape to rank 6, Transpose, Reshape (DCR order)."""
    rng = np.random.default_rng(42)
    inits = {"W": weights(rng, 8, 3, 3, 3), "s6": const([1, 2, 2, 2, 4, 3], I64), "s4": const([1, 2, 8, 6], I64)}
    nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Reshape", ["c", "s6"], "r6"),
             node("Transpose", ["r6"], "t6", perm=[0, 1, 4, 2, 5, 3]), node("Reshape", ["t6", "s4"], "y")]
    return make_model(nodes, {"x": [1, 3, 4, 3]}, ["y"], inits)


def fmap_transpose_conv() -> object:
    """Swap H and W of a feature map between two convs (the user's NCHW axes 2 and 3)."""
    rng = np.random.default_rng(43)
    inits = {"W1": weights(rng, 4, 3, 3, 3), "W2": weights(rng, 5, 4, 3, 1)}
    nodes = [node("Conv", ["x", "W1"], "c", pads=[1, 1, 1, 1]), node("Transpose", ["c"], "t", perm=[0, 1, 3, 2]),
             node("Conv", ["t", "W2"], "y")]
    return make_model(nodes, {"x": [1, 3, 4, 6]}, ["y"], inits)


CASES = [
    transposed("transpose_rank2", (1, 7), [1, 0], ops=["reshape"]),  # [1, 7] -> [7, 1]: the same bytes
    transposed("transpose_rank3_default", (1, 3, 5), None, ops=["copy"]),
    # An input read only by Transpose(0, 3, 1, 2) holds NHWC data: stored as it is, the transpose is free.
    transposed("transpose_nhwc_input", (1, 3, 4, 5), [0, 3, 1, 2], ops=["reshape"]),
    transposed("transpose_rank4_fmap", (1, 3, 4, 5), [0, 2, 1, 3], ops=["copy"]),
    transposed("transpose_rank5", (1, 2, 3, 4, 5), [0, 4, 2, 1, 3], ops=["copy"]),
    transposed("transpose_rank6", (1, 2, 3, 2, 3, 2), [0, 5, 3, 1, 4, 2], ops=["copy"]),
    Case("transpose_fmap_hw", fmap_transpose_conv, ops=["conv2d", "copy", "conv2d"]),
    Case("channel_shuffle_2_groups", channel_shuffle(), ops=["conv2d", "copy", "conv2d"]),
    Case("channel_shuffle_4_groups", channel_shuffle(4, 12), ops=["conv2d", "copy", "conv2d"]),
    Case("concat_channel_shuffle_split", concat_shuffle, ops=["conv2d", "conv2d", "concat", "copy", "copy", "conv2d",
                                                              "concat"], sqnr_db=28.0),
    Case("depth_to_space_rank6", depth_to_space, ops=["conv2d", "copy"]),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def test_rank7_input_is_one_clear_problem(tmp_path) -> None:
    """A model input beyond rank 6 is refused once, by name; the nodes reading it report nothing more (they
    see a placeholder), so the user is not sent after follow-on errors."""
    import onnx

    import tinygen
    from tinygen.errors import UnsupportedModelError

    model = make_model([node("Transpose", ["x"], "y", perm=[0, 6, 5, 4, 3, 2, 1])], {"x": [1, 2, 1, 2, 1, 2, 1]},
                       ["y"])
    onnx.save(model, tmp_path / "rank7.onnx")
    with pytest.raises(UnsupportedModelError) as error:
        tinygen.compile(tmp_path / "rank7.onnx", tmp_path / "out", calib="random")
    assert len(error.value.problems) == 1, str(error.value)
    assert "model input 'x' has rank 7; tinygen handles rank <= 6" in str(error.value)
