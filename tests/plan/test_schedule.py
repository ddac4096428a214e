"""schedule.py: the execution order with the smallest peak of live bytes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygen.ir import Graph, verify
from tinygen.ops import OPS
from tinygen.plan.liveness import analyze, lower_bound
from tinygen.plan.schedule import best_order, schedule_nodes

from .conftest import graph, two_branches


def peak(g: Graph) -> int:
    return lower_bound(analyze(g).buffers)


def topological_orders(g: Graph) -> list[list[int]]:
    producer = {out: i for i, node in enumerate(g.nodes) for out in node.outputs}
    deps = [{producer[name] for name in node.inputs if name in producer} for node in g.nodes]
    return [list(order) for order in itertools.permutations(range(len(g.nodes)))
            if all(deps[v] <= set(order[:position]) for position, v in enumerate(order))]


def test_two_branches_run_depth_first() -> None:
    g = two_branches()
    assert peak(g) == 144  # breadth first: a, l1 and r1 live together
    schedule = schedule_nodes(g)
    # Depth first, left branch first (the lowest original index among the optimal orders).
    assert [node.name for node in g.nodes] == ["n0", "n1", "n2", "n3", "n4", "n5"]
    assert schedule.order == [0, 1, 3, 2, 4, 5]
    assert (schedule.peak, schedule.original_peak, schedule.exact, schedule.changed) == (84, 144, True, True)
    assert peak(g) == 84  # a + l2 + r1 while n3 runs
    verify(g)


def test_an_optimal_order_is_kept() -> None:
    g = two_branches()
    schedule_nodes(g)
    again = schedule_nodes(g)
    assert not again.changed and again.order == list(range(6)) and again.peak == again.original_peak == 84


def residual_block() -> Graph:
    """ResNet's downsampling block: a 1x1 shortcut conv beside two 3x3 convs, then an add."""
    sizes = {"x": 32, "s": 16, "c1": 16, "c2": 16, "y": 16, "f": 16, "z": 4}
    return graph([("shortcut", "add", ["x"], ["s"]),
                  ("conv1", "add", ["x"], ["c1"]),
                  ("conv2", "add", ["c1"], ["c2"]),
                  ("add", "add", ["s", "c2"], ["y"]),
                  ("flatten", "reshape", ["y"], ["f"]),
                  ("fc", "add", ["f"], ["z"])], sizes, ["x"], ["z"])


def test_residual_block_keeps_its_order_when_no_order_is_better() -> None:
    g = residual_block()
    # Whichever branch runs first, x lives until both have read it and the 1x1 shortcut's output
    # until the add: x + s + c1 = 64 (or x + c1 + c2 = 64) at the second consumer of x.
    assert sorted({peak_of(residual_block(), order) for order in topological_orders(g)}) == [64]
    schedule = schedule_nodes(g)
    assert (schedule.peak, schedule.original_peak, schedule.exact, schedule.changed) == (64, 64, True, False)


def peak_of(g: Graph, order: list[int]) -> int:
    g.nodes = [g.nodes[i] for i in order]
    return peak(g)


def test_scratch_counts_while_its_node_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    add = type(OPS["add"])
    monkeypatch.setattr(add, "scratch_bytes", lambda self, node, g: 100 if node.name == "n2" else 0)
    g = two_branches()
    schedule = schedule_nodes(g)
    # n2 and its 100 bytes of scratch run best after the whole right branch, once a is dead:
    # l1 + l2 + r2 + 100 = 172, not a + l1 + l2 + 100 = 184 right after n1. Of the orders reaching
    # 172, the one with the lowest original indices first is kept (n1 before n3, as listed).
    assert schedule.peak == peak(g) == 172
    assert schedule.peak == min(peak_of(two_branches(), o) for o in topological_orders(two_branches()))
    assert [n.name for n in g.nodes] == ["n0", "n1", "n3", "n4", "n2", "n5"]


def test_beam_search_for_large_graphs_never_makes_things_worse() -> None:
    g = two_branches()
    schedule = best_order(g, state_budget=2)  # too few states for the exact search
    assert not schedule.exact
    assert schedule.peak == 84 and schedule.order == [0, 1, 3, 2, 4, 5]
    narrow = best_order(residual_block(), state_budget=2, beam_width=1)
    assert narrow.peak <= narrow.original_peak


def test_empty_graph() -> None:
    g = graph([], {"x": 4}, ["x"], ["x"])
    schedule = schedule_nodes(g)
    assert schedule.order == [] and schedule.peak == 4


# --- properties ----------------------------------------------------------------------------------

@st.composite
def dags(draw: st.DrawFn) -> Graph:
    """Random graphs of up to 7 nodes over 1-2 inputs, with reshapes, fan-out and fan-in."""
    inputs = [f"in{i}" for i in range(draw(st.integers(1, 2)))]
    sizes = {name: draw(st.integers(1, 64)) for name in inputs}
    available = list(inputs)
    nodes = []
    for index in range(draw(st.integers(1, 7))):
        out = f"t{index}"
        if draw(st.booleans()) and draw(st.integers(0, 3)) == 0:
            source = draw(st.sampled_from(available))
            nodes.append((f"n{index}", "reshape", [source], [out]))
            sizes[out] = sizes[source]
        else:
            ins = draw(st.lists(st.sampled_from(available), min_size=1, max_size=3, unique=True))
            nodes.append((f"n{index}", "add", ins, [out]))
            sizes[out] = draw(st.integers(1, 64))
        available.append(out)
    used = {name for _, _, ins, _ in nodes for name in ins}
    outputs = [name for name in available if name not in used and name not in inputs] or [available[-1]]
    g = graph(nodes, sizes, inputs, outputs)
    return g


@settings(max_examples=150, deadline=None)
@given(g=dags(), data=st.data())
def test_exact_schedule_is_the_best_topological_order(g: Graph, data: st.DataObject) -> None:
    orders = topological_orders(g)
    # Start from any valid order: the result must not depend on it beyond tie-breaking.
    start = data.draw(st.sampled_from(orders))
    g.nodes = [g.nodes[i] for i in start]
    names = [n.name for n in g.nodes]
    best = min(peak_of(_copy(g), order) for order in topological_orders(g))
    schedule = schedule_nodes(g)
    verify(g)
    assert schedule.exact and schedule.peak == best == peak(g)
    assert schedule.original_peak == peak_of(_copy(g, names), list(range(len(names))))
    assert schedule.peak <= schedule.original_peak


@settings(max_examples=60, deadline=None)
@given(g=dags(), width=st.integers(1, 4))
def test_beam_schedule_is_topological_and_no_worse(g: Graph, width: int) -> None:
    original = peak(g)
    schedule = schedule_nodes(g, state_budget=1, beam_width=width)
    verify(g)
    assert schedule.peak == peak(g) <= original


def _copy(g: Graph, names: list[str] | None = None) -> Graph:
    nodes = {n.name: n for n in g.nodes}
    order = names or [n.name for n in g.nodes]
    copy = Graph(g.name, dict(g.tensors), [nodes[name] for name in order], list(g.inputs), list(g.outputs))
    return copy


# --- end to end: the generated C and the golden reference follow the new order ---------------------

def two_branch_onnx(path: Path) -> None:
    """x -> conv a, then two 1x1-conv branches that widen to 32 channels and narrow to 2, concat.

    Listed breadth first, so both 32-channel tensors would be live together."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(6)

    def conv(name: str, source: str, out: str, cin: int, cout: int) -> tuple[onnx.NodeProto, list]:
        w = numpy_helper.from_array(rng.normal(0, 0.5, (cout, cin, 1, 1)).astype(np.float32), f"{name}_w")
        b = numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32), f"{name}_b")
        return helper.make_node("Conv", [source, w.name, b.name], [out], name=name), [w, b]

    specs = [("n0", "x", "a", 4, 4), ("n1", "a", "l1", 4, 32), ("n3", "a", "r1", 4, 32),
             ("n2", "l1", "l2", 32, 2), ("n4", "r1", "r2", 32, 2)]
    nodes, weights = [], []
    for spec in specs:
        node, ws = conv(*spec)
        nodes.append(node)
        weights += ws
    nodes.append(helper.make_node("Concat", ["l2", "r2"], ["y"], axis=1, name="n5"))
    graph = helper.make_graph(nodes, "two_branches", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                     [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))


def test_reordered_model_compiles_and_matches_its_golden_reference(tmp_path: Path) -> None:
    import tinygen

    source = tmp_path / "two_branches.onnx"
    two_branch_onnx(source)
    model = tinygen.compile(source, tmp_path / "out", calib="random")
    names = [layer["name"] for layer in model.manifest["layer_list"]]
    assert names == ["n0", "n1", "n2", "n3", "n4", "n5"]  # depth first, not as listed
    # 8x8 pixels: a 4 ch (256 B), l1/r1 32 ch (2048 B), l2/r2 2 ch (128 B). Breadth first would
    # need a + l1 + r1 = 4352 B. Depth first peaks while n2 runs: a + l1 + l2 = 2432 B, plus n2's
    # scratch (4 pixels of 32 widened channels, 256 B, and 4 B of alignment), less the 128 B its
    # output l2 may share with the dying l1 (in place).
    assert model.manifest["arena_lower_bound_bytes"] == 2432 + 260 - 128
    x = np.random.default_rng(7).normal(0, 1, (4, 4, 8, 8)).astype(np.float32)
    golden = model.golden(x)
    np.testing.assert_array_equal(golden, model.run(x))
