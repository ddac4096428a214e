"""liveness.py: buffers and lifetimes from a scheduled graph."""

from __future__ import annotations

import pytest

from tinygen.ops import OPS
from tinygen.plan.liveness import (
    Buffer,
    analyze,
    live_buffers_per_step,
    live_bytes_per_step,
    lower_bound,
    peak_step,
    scratch_name,
)

from .conftest import buffers, graph, two_branches


def test_lifetimes_of_a_chain_with_an_alias() -> None:
    g = graph([("conv", "add", ["x", "w"], ["a"]),
               ("flat", "reshape", ["a"], ["a_flat"]),
               ("fc", "add", ["a_flat"], ["y"])],
              {"x": 12, "a": 40, "a_flat": 40, "y": 4}, ["x"], ["y"], constants={"w": 9})
    live = analyze(g)
    assert live.steps == 3
    # The graph input is copied in before step 0, the output copied out after the last step;
    # the reshape shares a's bytes, so a lives until the fc reads a_flat; constants take no arena.
    assert {b.name: (b.size, b.first, b.last) for b in live.buffers} == {
        "x": (12, -1, 0), "a": (40, 0, 2), "y": (4, 2, 3)}
    assert live.storage_of == {"x": "x", "a": "a", "a_flat": "a", "y": "y"}
    assert live.scratch_of == {}


def test_inputs_and_outputs_of_a_node_are_live_together() -> None:
    live = analyze(two_branches())
    spans = {b.name: (b.first, b.last) for b in live.buffers}
    assert spans == {"x": (-1, 0), "a": (0, 2), "l1": (1, 3), "r1": (2, 4), "l2": (3, 5), "r2": (4, 5),
                     "y": (5, 6)}


def test_scratch_is_a_buffer_of_its_own_step(monkeypatch: pytest.MonkeyPatch) -> None:
    add = type(OPS["add"])
    monkeypatch.setattr(add, "scratch_bytes", lambda self, node, g: 20 if node.name == "n1" else 0)
    live = analyze(two_branches())
    assert live.scratch_of == {1: scratch_name(1)}
    assert Buffer(scratch_name(1), 20, 1, 1) in live.buffers


def test_live_sets_and_lower_bound() -> None:
    bs = buffers(("a", 8, -1, 0), ("b", 16, 0, 1), ("c", 4, 1, 2), ("d", 32, 2, 2))
    assert live_bytes_per_step(bs) == {-1: 8, 0: 24, 1: 20, 2: 36}
    assert lower_bound(bs) == 36
    assert peak_step(bs) == 2
    assert {step: [b.name for b in live] for step, live in live_buffers_per_step(bs).items()} == {
        -1: ["a"], 0: ["b", "a"], 1: ["b", "c"], 2: ["d", "c"]}
    assert lower_bound([]) == 0 and peak_step([]) is None


def test_overlap_in_time_is_inclusive() -> None:
    a, b, c = buffers(("a", 4, 0, 2), ("b", 4, 2, 3), ("c", 4, 3, 3))
    assert a.overlaps_in_time(b) and b.overlaps_in_time(a)
    assert not a.overlaps_in_time(c)
