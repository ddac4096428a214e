"""passes/fold_copies.py: consecutive data movements composed into one, a channel shuffle folded into the
concat before it, identity reshapes dropped, contiguous copies made views."""

from __future__ import annotations

import numpy as np

from tinygen.ops import op_of
from tinygen.passes import fold_copies

from ..ops.harness import Case, const, make_model, node, weights
from .conftest import after_pass, check_numerics, node_of, ops

I64 = np.int64


def shuffle_nodes(source: str, out: str, channels: int = 8, groups: int = 2) -> list:
    return [node("Reshape", [source, "s5"], f"{out}_r5"), node("Transpose", [f"{out}_r5"], f"{out}_t5",
                                                                 perm=[0, 2, 1, 3, 4]),
            node("Reshape", [f"{out}_t5", "s4"], out)]


def shuffle_inits(channels: int = 8, groups: int = 2) -> dict:
    return {"s5": const([1, groups, channels // groups, 4, 5], I64), "s4": const([1, channels, 4, 5], I64)}


def conv_shuffle_conv(outputs=("y",)):
    def build():
        rng = np.random.default_rng(301)
        inits = {"W1": weights(rng, 8, 3, 3, 3), "W2": weights(rng, 3, 8, 1, 1), **shuffle_inits()}
        nodes = [node("Conv", ["x", "W1"], "c", pads=[1, 1, 1, 1]), *shuffle_nodes("c", "sh"),
                 node("Conv", ["sh", "W2"], "y")]
        return make_model(nodes, {"x": [1, 3, 4, 5]}, list(outputs), inits)
    return build


def concat_shuffle_halves():
    rng = np.random.default_rng(302)
    inits = {"Wa": weights(rng, 4, 3, 1, 1), "Wb": weights(rng, 4, 3, 3, 3), "Wc": weights(rng, 4, 4, 1, 1),
             "split": const([4, 4], I64), **shuffle_inits()}
    nodes = [node("Conv", ["x", "Wa"], "a"), node("Conv", ["x", "Wb"], "b", pads=[1, 1, 1, 1]),
             node("Concat", ["a", "b"], "k", axis=1), *shuffle_nodes("k", "sh"),
             node("Split", ["sh", "split"], ["h1", "h2"], axis=1), node("Conv", ["h2", "Wc"], "h3"),
             node("Add", ["h1", "h3"], "y")]
    return make_model(nodes, {"x": [1, 3, 4, 5]}, ["y"], inits)


def rows_slice(start: int):
    def build():
        return make_model([node("Slice", ["x", "s", "e", "ax"], "t"), node("Relu", ["t"], "y")], {"x": [1, 6, 6]},
                          ["y"], {"s": const([start], I64), "e": const([start + 2], I64), "ax": const([1], I64)})
    return build


def movement_map(graph, names: list[str]) -> np.ndarray:
    """The composed index map of a chain of movement nodes (in order) of the IR before the pass."""
    composed = None
    for name in names:
        n = next(n for n in graph.nodes if n.outputs[0] == name)
        m = op_of(n).index_map(n, graph)
        composed = m if composed is None else composed[m]
    return composed


def test_channel_shuffle_becomes_one_copy(folder, run_case) -> None:
    before, after, rewrites = after_pass(fold_copies.run, conv_shuffle_conv()(), folder)
    assert ops(before) == ["conv2d", "transpose", "reshape", "copy", "reshape", "transpose", "conv2d"]
    assert ops(after) == ["conv2d", "copy", "conv2d"] and rewrites >= 1
    copy = node_of(after, "copy")
    assert copy.attrs["dims"] == [20, 4, 2] and copy.attrs["strides"] == [8, 1, 4]  # pixels, c // 2, group
    chain = [n.outputs[0] for n in before.nodes[1:-1]]
    np.testing.assert_array_equal(op_of(copy).index_map(copy, after), movement_map(before, chain))
    check_numerics(Case("pass_fold_shuffle", conv_shuffle_conv(), ops=["conv2d", "copy", "conv2d"]), run_case)


def test_shuffle_folds_into_the_concat_and_the_halves(folder, run_case) -> None:
    _, after, _ = after_pass(fold_copies.run, concat_shuffle_halves(), folder)
    assert sorted(ops(after)) == sorted(["conv2d", "conv2d", "concat", "copy", "copy", "conv2d", "add"])
    concat = node_of(after, "concat")
    assert concat.attrs["outer"] == 20 * 4  # single channels of the two branches, taken in turn
    case = Case("pass_fold_concat_shuffle", concat_shuffle_halves, sqnr_db=28.0,
                ops=["conv2d", "conv2d", "concat", "copy", "copy", "conv2d", "add"])
    check_numerics(case, run_case)


def test_not_folded_when_the_middle_is_a_model_output(folder) -> None:
    _, after, _ = after_pass(fold_copies.run, conv_shuffle_conv(outputs=("y", "sh_t5"))(), folder)
    assert "sh_t5" in [out for n in after.nodes for out in n.outputs]


def test_aligned_contiguous_slice_is_a_view(folder, run_case) -> None:
    _, after, _ = after_pass(fold_copies.run, rows_slice(2)(), folder)
    assert ops(after) == ["slice_view", "lut"] and node_of(after, "slice_view").attrs["offset"] == 12
    check_numerics(Case("pass_fold_view", rows_slice(2), ops=["slice_view", "lut"], steps=1.0), run_case)


def test_unaligned_contiguous_slice_stays_a_copy(folder) -> None:
    """Rows from element 6: not a 4-byte boundary, where no arena buffer (and no word read) could start."""
    _, after, _ = after_pass(fold_copies.run, rows_slice(1)(), folder)
    assert ops(after) == ["copy", "lut"]
