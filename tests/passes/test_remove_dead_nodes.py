"""passes/remove_dead_nodes.py: nodes none of whose outputs is read (by a node or as a model
output) are removed, repeatedly, so a whole dead branch goes; live nodes, and nodes with at least
one live output, stay."""

from __future__ import annotations

import numpy as np

from tinygen.passes import remove_dead_nodes

from ..ops.harness import Case, make_model, node, weights
from .conftest import after_pass, check_numerics, ops


def dead_branch():
    """A conv -> relu -> sigmoid branch that reaches no output, beside the live conv -> pool."""
    rng = np.random.default_rng(251)
    inits = {"W": weights(rng, 4, 3, 3, 3), "W_dead": weights(rng, 5, 3, 1, 1)}
    nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1], name="live_conv"),
             node("Conv", ["x", "W_dead"], "d1", name="dead_conv"),
             node("Relu", ["d1"], "d2", name="dead_relu"),
             node("Sigmoid", ["d2"], "d3", name="dead_sigmoid"),
             node("MaxPool", ["c"], "y", kernel_shape=[2, 2], strides=[2, 2], name="live_pool")]
    return make_model(nodes, {"x": [1, 3, 6, 6]}, ["y"], inits)


def test_dead_branch_removed(folder, run_case) -> None:
    before, after, rewrites = after_pass(remove_dead_nodes.run, dead_branch(), folder)
    assert ops(before) == ["conv2d", "conv2d", "lut", "lut", "max_pool"]
    assert [n.name for n in after.nodes] == ["live_conv", "live_pool"] and rewrites == 3
    assert "W_dead" not in {name for n in after.nodes for name in n.inputs}
    check_numerics(Case("pass_dead_branch", dead_branch, ops=["conv2d", "max_pool"]), run_case)


def test_live_graph_untouched(folder) -> None:
    rng = np.random.default_rng(252)
    model = make_model([node("Gemm", ["x", "W"], "h", transB=1), node("Relu", ["h"], "y")], {"x": [1, 4]}, ["y", "h"],
                       {"W": weights(rng, 3, 4)})
    before, after, rewrites = after_pass(remove_dead_nodes.run, model, folder)
    assert rewrites == 0 and ops(after) == ops(before) == ["fully_connected", "lut"]


def test_whole_pipeline_removes_what_fusion_leaves_dead(run_case) -> None:
    """Only the dead branch's nodes go: the full pipeline keeps the outputs' producers."""
    result = run_case(Case("pass_dead_branch", dead_branch, ops=["conv2d", "max_pool"]))
    assert sorted(result.ir_ops) == ["conv2d", "max_pool"]
    assert len(result.model.manifest["layer_list"]) == 2
