"""Expand and Tile of run-time tensors (ops/expand.py): broadcast axes are copy axes of input stride 0."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

I64 = np.int64


def expanded(case_id: str, op: str, shape, target, ops=None):
    def build():
        return make_model([node(op, ["x", "t"], "y")], {"x": list(shape)}, ["y"], {"t": const(target, I64)})
    return Case(case_id, build, ops=ops, steps=0.5)


def pooled_expand() -> object:
    """A global pool broadcast back over the map and concatenated to it (a PSP / context head)."""
    rng = np.random.default_rng(51)
    inits = {"W": weights(rng, 4, 3, 3, 3), "t": const([1, 4, 5, 6], I64), "W2": weights(rng, 3, 8, 1, 1)}
    nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("GlobalAveragePool", ["c"], "g"),
             node("Expand", ["g", "t"], "e"), node("Concat", ["c", "e"], "k", axis=1), node("Conv", ["k", "W2"], "y")]
    return make_model(nodes, {"x": [1, 3, 5, 6]}, ["y"], inits)


def fmap_batch() -> object:
    """A feature map repeated along the batch axis as the model output (stored channels-last per entry)."""
    rng = np.random.default_rng(52)
    inits = {"W": weights(rng, 4, 3, 3, 3), "t": const([3, 1, 1, 1], I64)}
    return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Expand", ["c", "t"], "y")],
                      {"x": [1, 3, 4, 5]}, ["y"], inits)


def constant_expand_tile() -> object:
    """Expand and Tile of constants (a bias row broadcast to the tokens, a tiled offset): folded by the loader
    into constants the Add and Mul read."""
    inits = {"row": np.arange(4, dtype=np.float32)[None] * 0.3, "t": const([1, 3, 4], I64),
             "g": np.array([[[0.5, 2.0]]], np.float32), "rep": const([1, 3, 2], I64)}
    nodes = [node("Expand", ["row", "t"], "bias"), node("Add", ["x", "bias"], "a"),
             node("Tile", ["g", "rep"], "gain"), node("Mul", ["a", "gain"], "y")]
    return make_model(nodes, {"x": [1, 3, 4]}, ["y"], inits)


CASES = [
    Case("expand_tile_constants_folded", constant_expand_tile, ops=["add", "mul"]),
    Case("expand_fmap_batch", fmap_batch, ops=["conv2d", "copy"]),
    expanded("expand_rows", "Expand", (1, 1, 6), [1, 4, 6], ops=["copy"]),
    expanded("expand_rank_up", "Expand", (1, 5), [3, 1, 5], ops=["copy"]),
    expanded("expand_batch", "Expand", (1, 5), [4, 5], ops=["copy"]),
    expanded("expand_middle", "Expand", (1, 3, 1, 4), [1, 3, 5, 4], ops=["copy"]),
    expanded("tile_last", "Tile", (1, 2, 3), [1, 2, 3], ops=["copy"]),
    expanded("tile_fmap", "Tile", (1, 2, 3, 4), [1, 1, 2, 1], ops=["copy"]),
    Case("expand_pooled_context", pooled_expand, ops=["conv2d", "avg_pool", "copy", "concat", "conv2d"],
         sqnr_db=25.0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
