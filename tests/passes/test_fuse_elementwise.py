"""passes/fuse_elementwise.py: a region of lookup tables and scalar add/mul that computes a
function of one tensor (SiLU, decomposed GELU and HardSwish, chains) becomes one table.
Not fused: a per-channel constant, a product of two different tensors. A region value that is
also read elsewhere stays computed for that reader."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygen.passes import fuse_activation, fuse_elementwise, remove_dead_nodes

from ..ops.harness import Case, const, make_model, node
from .conftest import after_pass, check_numerics, ops


def silu():
    return make_model([node("Sigmoid", ["x"], "s"), node("Mul", ["x", "s"], "y")], {"x": [1, 8, 4, 4]}, ["y"])


def gelu():
    inits = {"r2": const(math.sqrt(2.0)), "one": const(1.0), "half": const(0.5)}
    nodes = [node("Div", ["x", "r2"], "d"), node("Erf", ["d"], "e"), node("Add", ["e", "one"], "a"),
             node("Mul", ["x", "a"], "m"), node("Mul", ["m", "half"], "y")]
    return make_model(nodes, {"x": [1, 32]}, ["y"], inits)


def hardswish():
    inits = {"three": const(3.0), "lo": const(0.0), "hi": const(6.0), "six": const(6.0)}
    nodes = [node("Add", ["x", "three"], "a"), node("Clip", ["a", "lo", "hi"], "c"), node("Mul", ["x", "c"], "m"),
             node("Div", ["m", "six"], "y")]
    return make_model(nodes, {"x": [1, 4, 5, 5]}, ["y"], inits)


def shared_intermediate():
    nodes = [node("Sigmoid", ["x"], "s"), node("Mul", ["x", "s"], "y")]
    return make_model(nodes, {"x": [1, 16]}, ["y", "s"])


def per_channel_constant():
    inits = {"k": const(np.linspace(0.5, 2.0, 4)).reshape(1, 4, 1, 1)}
    return make_model([node("Sigmoid", ["x"], "s"), node("Mul", ["s", "k"], "y")], {"x": [1, 4, 3, 3]}, ["y"], inits)


def two_tensors():
    return make_model([node("Sigmoid", ["x"], "s"), node("Mul", ["s", "z"], "y")],
                      {"x": [1, 6], "z": [1, 6]}, ["y"])


def run_passes(graph):
    """fuse_elementwise as the pipeline runs it: after fuse_activation (a Clip may already sit on
    an add as its clamp), followed by the removal of the region's now-unused nodes."""
    fuse_activation.run(graph)
    rewrites = fuse_elementwise.run(graph)
    remove_dead_nodes.run(graph)
    return rewrites


FUSED = [("silu", silu, ["lut"]), ("gelu", gelu, ["lut"]), ("hardswish", hardswish, ["lut"]),
         ("shared_intermediate", shared_intermediate, ["lut", "lut"])]


@pytest.mark.parametrize("case_id,build,expected", FUSED, ids=[f[0] for f in FUSED])
def test_fused(folder, run_case, case_id, build, expected) -> None:
    before, after, rewrites = after_pass(run_passes, build(), folder)
    assert ops(after) == expected and len(ops(after)) <= len(ops(before)) and rewrites == 1
    composite = [n for n in after.nodes if n.attrs.get("function") == "composite"]
    assert len(composite) == 1 and composite[0].inputs == ["x"]
    # One table: the only rounding is the output's, so it is within half a step plus the input's.
    check_numerics(Case(f"pass_elementwise_{case_id}", build, ops=expected, steps=1.0), run_case)


NOT_FUSED = [("per_channel_constant", per_channel_constant, ["lut", "mul"]),
             ("two_tensors", two_tensors, ["lut", "mul"])]


@pytest.mark.parametrize("case_id,build,expected", NOT_FUSED, ids=[f[0] for f in NOT_FUSED])
def test_not_fused(folder, run_case, case_id, build, expected) -> None:
    _, after, rewrites = after_pass(run_passes, build(), folder)
    assert ops(after) == expected and rewrites == 0
    check_numerics(Case(f"pass_elementwise_not_{case_id}", build, ops=expected, steps=4.0), run_case)
