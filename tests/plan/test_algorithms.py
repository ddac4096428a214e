"""algorithms.py: every placement algorithm on hand-made buffer sets, and properties that hold for all.

The hand-made sets are small enough to check by hand (comments say how); `tight` is a random
instance kept because the exact search (and, in name order, hill climbing) beats every greedy
algorithm on it.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygen.plan.algorithms import ALGORITHMS, _conflicts, _place_in_order, _top, arena_size, exact_search
from tinygen.plan.liveness import Buffer, lower_bound
from tinygen.plan.planner import check_placement

from .conftest import buffers


def units(*specs: tuple[str, int, int, int]) -> list[Buffer]:
    """Buffers whose sizes are given in 4-byte words."""
    return [Buffer(name, 4 * words, first, last) for name, words, first, last in specs]


CASES: dict[str, list[Buffer]] = {
    # A plain chain: b at 0, its neighbours a and c above it, d back at 0. Lower bound 48 (a + b).
    "chain": buffers(("a", 16, 0, 1), ("b", 32, 1, 2), ("c", 16, 2, 3), ("d", 8, 3, 4)),
    # VWW's first layers in miniature: greedy-by-size puts the input at 0 (it does not meet the
    # largest tensor), which pushes a0 and a1 up to 56. Lower bound 48 (a1 + a2), reachable.
    "input_trap": buffers(("in", 24, -1, 0), ("a0", 16, 0, 1), ("a1", 16, 1, 2), ("a2", 32, 2, 3)),
    # The greedy orders all leave a hole; the lower bound 20 is reachable (see the exact offsets).
    "seven": buffers(("c", 4, 0, 0), ("a", 8, 0, 1), ("b", 8, 0, 2), ("f", 4, 2, 2), ("d", 4, 1, 3),
                     ("e", 4, 2, 3), ("g", 12, 3, 3)),
    # Lower bound 16 (4 words at every step) but no placement fits in 16: b and e must sit at word
    # 0 or 3 (next to a and h, 3 words each) and so must d (steps 1 and 3 beside c and g, 2 words),
    # yet b, d and e are live together at step 2. Every algorithm gets 20; exact proves it optimal.
    "unpackable": units(("a", 3, 0, 0), ("c", 2, 1, 1), ("b", 1, 0, 2), ("f", 1, 2, 2), ("d", 1, 1, 3),
                        ("g", 2, 3, 3), ("h", 3, 4, 4), ("e", 1, 2, 5), ("i", 1, 5, 5), ("j", 2, 5, 5)),
    # Odd sizes and alignments 1/2/4/8 and an empty buffer: x (align 4) above z would start at 12.
    "alignment": buffers(("x", 5, 0, 1, 4), ("y", 3, 1, 2, 8), ("z", 10, 0, 0, 1), ("w", 6, 2, 3, 2),
                         ("v", 0, 0, 3, 4)),
    "tight": units(("b2", 3, 0, 0), ("b3", 1, 0, 0), ("b0", 2, 0, 1), ("b4", 1, 0, 1), ("b5", 3, 1, 1),
                   ("b6", 1, 1, 1), ("b1", 3, 0, 2), ("b8", 3, 2, 2), ("b9", 2, 2, 3), ("b10", 3, 3, 3),
                   ("b13", 3, 4, 5), ("b11", 3, 3, 6), ("b12", 2, 4, 6), ("b15", 1, 6, 8), ("b17", 1, 7, 8),
                   ("b7", 2, 2, 9), ("b16", 2, 7, 9), ("b18", 1, 7, 9), ("b19", 1, 7, 9), ("b14", 2, 6, 10),
                   ("b20", 2, 9, 10), ("b21", 4, 10, 10), ("b22", 2, 10, 10)),
}

LOWER_BOUNDS = {"chain": 48, "input_trap": 48, "seven": 20, "unpackable": 16, "alignment": 15, "tight": 40}

#                        chain  input_trap  seven  unpackable  alignment  tight
EXPECTED_ARENA = {
    "greedy_by_size":       (48, 56, 24, 20, 17, 48),
    "greedy_by_conflicts":  (48, 64, 28, 20, 15, 52),
    "best_fit_by_size":     (48, 56, 24, 20, 17, 48),
    "best_fit_by_lifetime": (48, 56, 28, 20, 15, 48),
    "hill_climb":           (48, 48, 20, 20, 15, 40),
    "exact":                (48, 48, 20, 20, 15, 40),
}

EXPECTED_OFFSETS = {
    ("chain", "*"): {"a": 32, "b": 0, "c": 32, "d": 0},
    # a2 first at 0; the input meets nothing placed: 0; a0 above the input: 24; a1 above a0: 40.
    ("input_trap", "greedy_by_size"): {"in": 0, "a0": 24, "a1": 40, "a2": 0},
    ("input_trap", "exact"): {"in": 16, "a0": 0, "a1": 32, "a2": 0},
    ("seven", "exact"): {"c": 16, "a": 0, "b": 8, "f": 4, "d": 16, "e": 0, "g": 4},
    ("alignment", "greedy_by_size"): {"x": 12, "y": 8, "z": 0, "w": 0, "v": 0},
    ("alignment", "exact"): {"x": 0, "y": 8, "z": 5, "w": 0, "v": 0},
}


def test_every_algorithm_has_expectations() -> None:
    assert set(EXPECTED_ARENA) == set(ALGORITHMS)


@pytest.mark.parametrize("case", list(CASES))
def test_lower_bounds(case: str) -> None:
    assert lower_bound(CASES[case]) == LOWER_BOUNDS[case]


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("case", list(CASES))
def test_arena_on_handmade_sets(algorithm: str, case: str) -> None:
    bs = CASES[case]
    placement = ALGORITHMS[algorithm](bs)
    check_placement(bs, placement)
    expected = EXPECTED_ARENA[algorithm][list(CASES).index(case)]
    assert arena_size(bs, placement) == expected
    offsets = EXPECTED_OFFSETS.get((case, algorithm), EXPECTED_OFFSETS.get((case, "*")))
    if offsets is not None:
        assert placement == offsets


@pytest.mark.parametrize("case", list(CASES))
def test_exact_search_proves_its_result(case: str) -> None:
    result = exact_search(CASES[case])
    assert result.proven
    assert result.arena == EXPECTED_ARENA["exact"][list(CASES).index(case)]


def test_exact_search_stops_at_its_node_budget() -> None:
    bs = CASES["tight"]
    result = exact_search(bs, node_budget=5)
    check_placement(bs, result.placement)
    assert not result.proven
    assert result.nodes == 6  # the sixth node is the one refused
    assert result.arena == arena_size(bs, result.placement) == 48  # the greedy incumbent


def test_exact_search_stops_when_good_enough() -> None:
    bs = CASES["tight"]
    result = exact_search(bs, good_enough=44)
    assert result.arena <= 44 and not result.proven


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_empty_and_single(algorithm: str) -> None:
    assert ALGORITHMS[algorithm]([]) == {}
    assert ALGORITHMS[algorithm](buffers(("only", 7, 0, 3))) == {"only": 0}


# --- properties --------------------------------------------------------------------------------

@st.composite
def buffer_sets(draw: st.DrawFn, max_buffers: int = 12) -> list[Buffer]:
    count = draw(st.integers(0, max_buffers))
    result = []
    for index in range(count):
        first = draw(st.integers(-1, 8))
        result.append(Buffer(f"t{index}", draw(st.integers(0, 64)), first, first + draw(st.integers(0, 4)),
                             draw(st.sampled_from([1, 2, 4, 8, 16]))))
    return result


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@settings(max_examples=150, deadline=None)
@given(bs=buffer_sets())
def test_no_two_live_buffers_overlap_and_alignment_holds(algorithm: str, bs: list[Buffer]) -> None:
    placement = ALGORITHMS[algorithm](bs)
    assert set(placement) == {b.name for b in bs}
    for b in bs:
        assert placement[b.name] >= 0 and placement[b.name] % b.alignment == 0
    for a, b in itertools.combinations(bs, 2):
        if a.overlaps_in_time(b) and a.size and b.size:
            a_start, b_start = placement[a.name], placement[b.name]
            assert a_start + a.size <= b_start or b_start + b.size <= a_start, (a, b, placement)
    assert arena_size(bs, placement) >= lower_bound(bs)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@settings(max_examples=60, deadline=None)
@given(bs=buffer_sets(), data=st.data())
def test_deterministic_whatever_the_input_order(algorithm: str, bs: list[Buffer], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(bs))
    assert ALGORITHMS[algorithm](bs) == ALGORITHMS[algorithm](list(shuffled)) == ALGORITHMS[algorithm](bs)


@settings(max_examples=120, deadline=None)
@given(bs=buffer_sets(max_buffers=6))
def test_exact_equals_brute_force_and_beats_every_heuristic(bs: list[Buffer]) -> None:
    # First fit over every order reaches an optimal placement (place by increasing offset).
    conflicts = _conflicts(bs)
    brute = min((_top(bs, _place_in_order(bs, order, conflicts)) for order in itertools.permutations(range(len(bs)))),
                default=0)
    result = exact_search(bs)
    assert result.proven
    assert result.arena == brute == arena_size(bs, result.placement)
    for algorithm in ALGORITHMS.values():
        assert arena_size(bs, algorithm(bs)) >= result.arena
