"""planner.py: the best of the algorithms, the report data, the RAM budget."""

from __future__ import annotations

import pytest

from tinygen.ir import Graph
from tinygen.ops import OPS
from tinygen.plan import MemoryBudgetError, plan_memory
from tinygen.plan.algorithms import ALGORITHMS
from tinygen.plan.planner import check_placement

from .conftest import buffers, graph, two_branches


def input_trap() -> Graph:
    """VWW's first layers in miniature (see test_algorithms): greedy-by-size needs 56, the bound is 48."""
    return graph([("c0", "add", ["in"], ["a0"]), ("c1", "add", ["a0"], ["a1"]), ("c2", "add", ["a1"], ["a2"]),
                  ("pool", "add", ["a2"], ["y"])],
                 {"in": 24, "a0": 16, "a1": 16, "a2": 32, "y": 8}, ["in"], ["y"])


def test_plan_keeps_the_smallest_arena() -> None:
    plan = plan_memory(input_trap())
    assert (plan.arena_size, plan.lower_bound, plan.optimal) == (48, 48, True)
    assert plan.results == {"greedy_by_size": 56, "greedy_by_conflicts": 48, "best_fit_by_size": 56,
                            "best_fit_by_lifetime": 56}  # the searches are skipped: the bound is reached
    assert plan.algorithm == "greedy_by_conflicts"
    check_placement(plan.buffers, plan.offsets)


def test_one_algorithm_by_name() -> None:
    plan = plan_memory(input_trap(), ["greedy_by_size"])
    assert (plan.arena_size, plan.algorithm, plan.optimal) == (56, "greedy_by_size", False)
    assert plan.tensor_offset("a1") == 40
    with pytest.raises(ValueError, match="unknown placement algorithm"):
        plan_memory(input_trap(), ["first_fit"])


def test_searches_run_when_the_greedy_ones_leave_a_gap() -> None:
    plan = plan_memory(input_trap(), ["greedy_by_size", "hill_climb", "exact"])
    assert plan.results == {"greedy_by_size": 56, "hill_climb": 48}
    assert plan.arena_size == 48 and plan.optimal
    plan = plan_memory(input_trap(), ["greedy_by_size", "exact"])
    assert plan.results == {"greedy_by_size": 56, "exact": 48} and plan.algorithm == "exact"


def test_arena_is_rounded_up_to_8_bytes() -> None:
    g = graph([("n", "add", ["x"], ["y"])], {"x": 5, "y": 3}, ["x"], ["y"])
    plan = plan_memory(g)
    # x and y are live together; one of them starts at a multiple of 4: y at 0, x at 4 -> 9 bytes.
    assert (plan.lower_bound, plan.used_bytes, plan.arena_size) == (8, 9, 16)
    assert plan.offsets == {"x": 4, "y": 0}


def test_report_data() -> None:
    g = two_branches()
    plan = plan_memory(g)
    assert plan.steps == 6
    # Breadth first (not scheduled here): a, l1 and r1 live together at step 2.
    assert plan.live_per_step() == {-1: 16, 0: 32, 1: 80, 2: 144, 3: 132, 4: 72, 5: 16, 6: 8}
    assert plan.lower_bound == 144 and plan.peak_step() == 2
    live = plan.live_buffers_per_step()
    assert [b.name for b in live[2]] == ["l1", "r1", "a"]  # largest first
    assert [b.name for b in live[6]] == ["y"]
    report = plan.report(g).splitlines()
    assert report[0] == "arena 144 B (lower bound for this schedule 144 B; greedy_by_size, optimal)"
    assert report[6].split()[:4] == ["2", "add", "'n3'", "144"]
    assert "(inputs copied in)" in report[3] and "(outputs copied out)" in report[-1]


def test_scratch_is_planned_in_the_arena(monkeypatch: pytest.MonkeyPatch) -> None:
    add = type(OPS["add"])
    monkeypatch.setattr(add, "scratch_bytes", lambda self, node, g: 12 if node.name == "c1" else 0)
    plan = plan_memory(input_trap())
    offset, size = plan.scratch(1)
    assert size == 12 and offset % 4 == 0 and plan.scratch(0) is None
    assert plan.lower_bound == 48  # step 1: a0 + a1 + 12 = 44; step 2 still a1 + a2 = 48
    check_placement(plan.buffers, plan.offsets)


def test_ram_budget_fits() -> None:
    assert plan_memory(input_trap(), ram_budget=48).arena_size == 48


def test_ram_budget_below_the_lower_bound_fails_clearly() -> None:
    with pytest.raises(MemoryBudgetError) as error:
        plan_memory(input_trap(), ram_budget=40)
    message = str(error.value)
    assert "needs 48 B, over the RAM budget of 40 B by 8 B; nothing was written" in message
    assert "No placement can fit" in message and "48 B are live at once" in message
    assert "step 2 add 'c2': a2 (32 B), a1 (16 B)" in message
    assert "What could help" in message


def test_ram_budget_makes_the_exact_search_try_harder() -> None:
    # greedy_by_size alone gives 56; a 48-byte budget sends the exact search after it.
    plan = plan_memory(input_trap(), ["greedy_by_size"], ram_budget=48)
    assert plan.arena_size == 48 and plan.algorithm == "exact"


def test_ram_budget_above_the_bound_but_unreachable() -> None:
    # The bound (8) cannot be reached because of alignment: 9 bytes, an arena of 16.
    g = graph([("n", "add", ["x"], ["y"])], {"x": 5, "y": 3}, ["x"], ["y"])
    with pytest.raises(MemoryBudgetError) as error:
        plan_memory(g, ram_budget=12)
    assert "needs 16 B, over the RAM budget of 12 B" in str(error.value)
    assert "cannot be packed below 9 B (exhaustive search; the arena is rounded up to 8 bytes)" in str(error.value)


def test_check_placement_catches_overlap_and_misalignment() -> None:
    bs = buffers(("a", 8, 0, 1), ("b", 8, 1, 2), ("c", 8, 3, 3))
    check_placement(bs, {"a": 0, "b": 8, "c": 0})
    with pytest.raises(AssertionError, match="overlap"):
        check_placement(bs, {"a": 0, "b": 4, "c": 0})
    with pytest.raises(AssertionError, match="misplaced"):
        check_placement(bs, {"a": 0, "b": 10, "c": 0})


def test_same_graph_same_offsets() -> None:
    first = plan_memory(two_branches())
    for _ in range(3):
        again = plan_memory(two_branches())
        assert again.offsets == first.offsets and again.algorithm == first.algorithm


def test_every_algorithm_is_tried_by_default() -> None:
    assert list(ALGORITHMS)[:4] == ["greedy_by_size", "greedy_by_conflicts", "best_fit_by_size",
                                    "best_fit_by_lifetime"]
