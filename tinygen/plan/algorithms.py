"""Placement algorithms: buffers with lifetimes in, byte offsets out.

Every algorithm has the same signature, (buffers) -> {buffer name: offset}, and is listed in
ALGORITHMS by name; planner.py runs them and keeps the smallest arena. All are deterministic:
ties are broken by buffer name, and the searches (hill_climb, exact) are bounded by a count of
evaluations or search nodes, never by the clock, so the same buffers always get the same offsets.

Two buffers conflict when their lifetimes overlap; conflicting buffers must not share a byte.
Placing buffers one by one at the lowest offset that fits ("first fit") in a well-chosen order is
the classic approach (TFLM's GreedyMemoryPlanner, TVM USMP's greedy_by_size/greedy_by_conflicts).
It is also complete: for every placement there is an order in which first fit puts each buffer at
or below its offset there (place them by increasing offset), which is what the exact search uses.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .liveness import Buffer, live_buffers_per_step, lower_bound

Placement = dict[str, int]
Algorithm = Callable[[list[Buffer]], Placement]

HILL_CLIMB_STEPS = 400  # placements evaluated by hill_climb
HILL_CLIMB_SEED = 0
EXACT_NODE_BUDGET = 20_000  # search nodes visited by exact before it returns the best found so far


def _align(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


def arena_size(buffers: list[Buffer], placement: Placement) -> int:
    return max((placement[b.name] + b.size for b in buffers), default=0)


# --- shared pieces --------------------------------------------------------------------------------

def _conflicts(buffers: Sequence[Buffer]) -> list[list[int]]:
    """For each buffer, the indices of the non-empty buffers whose lifetimes overlap its own."""
    result: list[list[int]] = [[] for _ in buffers]
    by_first = sorted(range(len(buffers)), key=lambda i: (buffers[i].first, i))
    for position, i in enumerate(by_first):
        for j in by_first[position + 1:]:
            if buffers[j].first > buffers[i].last:
                break
            if buffers[i].size and buffers[j].size:
                result[i].append(j)
                result[j].append(i)
    return result


def _first_fit_offset(size: int, alignment: int, occupied: list[tuple[int, int]]) -> int:
    """Lowest aligned offset where [offset, offset + size) misses every occupied [start, end)."""
    candidate = 0
    for start, end in sorted(occupied):
        if candidate + size <= start:
            break
        if end > candidate:
            candidate = _align(end, alignment)
    return candidate


def _best_fit_offset(size: int, alignment: int, occupied: list[tuple[int, int]]) -> int:
    """The aligned offset in the tightest gap between occupied ranges that holds `size` bytes;
    above all of them when no gap is large enough."""
    candidate = 0
    best: tuple[int, int] | None = None  # (gap, offset)
    for start, end in sorted(occupied):
        gap = start - candidate
        if gap >= size and (best is None or gap < best[0]):
            best = (gap, candidate)
        if end > candidate:
            candidate = _align(end, alignment)
    return best[1] if best is not None else candidate


def _place_in_order(buffers: Sequence[Buffer], order: Sequence[int], conflicts: list[list[int]],
                    fit: Callable[[int, int, list[tuple[int, int]]], int] = _first_fit_offset) -> list[int]:
    """Offsets (by buffer index) from placing the buffers one by one in `order` with `fit`."""
    offsets = [-1] * len(buffers)
    for i in order:
        buffer = buffers[i]
        occupied = [(offsets[j], offsets[j] + buffers[j].size) for j in conflicts[i] if offsets[j] >= 0]
        offsets[i] = fit(buffer.size, buffer.alignment, occupied)
    return offsets


def _top(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((offset + buffer.size for buffer, offset in zip(buffers, offsets, strict=True)), default=0)


def _as_placement(buffers: Sequence[Buffer], offsets: Sequence[int]) -> Placement:
    return {buffer.name: offset for buffer, offset in zip(buffers, offsets, strict=True)}


def _size_order(buffers: Sequence[Buffer]) -> list[int]:
    return sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].first, buffers[i].name))


# --- the greedy algorithms ----------------------------------------------------------------------

def greedy_by_size(buffers: list[Buffer]) -> Placement:
    """Largest buffers first, each at the lowest offset that fits (TFLM's GreedyMemoryPlanner)."""
    offsets = _place_in_order(buffers, _size_order(buffers), _conflicts(buffers))
    return _as_placement(buffers, offsets)


def greedy_by_conflicts(buffers: list[Buffer]) -> Placement:
    """Buffers that conflict with the most others first (then larger first), each at the lowest
    offset that fits (TVM USMP's greedy_by_conflicts)."""
    conflicts = _conflicts(buffers)
    order = sorted(range(len(buffers)), key=lambda i: (-len(conflicts[i]), -buffers[i].size,
                                                       buffers[i].first, buffers[i].name))
    return _as_placement(buffers, _place_in_order(buffers, order, conflicts))


def best_fit_by_size(buffers: list[Buffer]) -> Placement:
    """Largest buffers first, each into the tightest gap that holds it (best-fit decreasing)."""
    offsets = _place_in_order(buffers, _size_order(buffers), _conflicts(buffers), _best_fit_offset)
    return _as_placement(buffers, offsets)


def best_fit_by_lifetime(buffers: list[Buffer]) -> Placement:
    """Longest-lived buffers first (then larger first), each into the tightest gap that holds it:
    long-lived tensors (residual shortcuts, graph inputs) settle at the bottom and the short-lived
    ones fill the holes above them."""
    order = sorted(range(len(buffers)), key=lambda i: (-(buffers[i].last - buffers[i].first), -buffers[i].size,
                                                       buffers[i].first, buffers[i].name))
    return _as_placement(buffers, _place_in_order(buffers, order, _conflicts(buffers), _best_fit_offset))


# --- hill climbing over placement orders (TVM USMP's hill_climb) -------------------------------

def hill_climb(buffers: list[Buffer], steps: int = HILL_CLIMB_STEPS, seed: int = HILL_CLIMB_SEED) -> Placement:
    """Start from the greedy-by-size order and improve it: move a buffer that reaches the top of
    the arena to an earlier place in the order (or swap two random buffers), place with first fit,
    keep the new order if the arena did not grow. A seeded generator makes it reproducible."""
    conflicts = _conflicts(buffers)
    floor = lower_bound(buffers)
    order = _size_order(buffers)
    offsets = _place_in_order(buffers, order, conflicts)
    size = _top(buffers, offsets)
    best_offsets, best_size = offsets, size
    rng = random.Random(seed)
    n = len(buffers)
    for _ in range(steps if n > 1 else 0):
        if best_size <= floor:
            break
        trial = list(order)
        tops = [i for i in range(n) if offsets[i] + buffers[i].size == size]
        if rng.random() < 0.7:
            mover = tops[rng.randrange(len(tops))]
            position = trial.index(mover)
            if position == 0:
                continue
            trial.insert(rng.randrange(position), trial.pop(position))
        else:
            a, b = rng.sample(range(n), 2)
            trial[a], trial[b] = trial[b], trial[a]
        trial_offsets = _place_in_order(buffers, trial, conflicts)
        trial_size = _top(buffers, trial_offsets)
        if trial_size <= size:
            order, offsets, size = trial, trial_offsets, trial_size
            if size < best_size:
                best_offsets, best_size = offsets, size
    return _as_placement(buffers, best_offsets)


# --- exact search -------------------------------------------------------------------------------

@dataclass
class SearchResult:
    placement: Placement
    arena: int
    proven: bool  # the search finished: no placement of these buffers is smaller
    nodes: int  # search nodes visited


def exact_search(buffers: list[Buffer], *, node_budget: int = EXACT_NODE_BUDGET,
                 incumbent: Placement | None = None, good_enough: int = 0) -> SearchResult:
    """Branch and bound over placement orders, first fit, smallest arena.

    Completeness: take an optimal placement and re-place the buffers with first fit in order of
    increasing offset; every buffer lands at or below its offset, and repeating this reaches a
    placement that first fit reproduces with offsets non-decreasing along the order. So it is
    enough to search orders in which each buffer's first-fit offset (ties: buffer index) is not
    below the previous one. That rule prunes hard: a buffer whose lowest fit lies entirely below
    the current offset could never be placed again, so no child may jump above it. Each node is
    bounded below by stacking, at every maximal live set, the unplaced buffers from their lowest
    possible offsets. The search starts from `incumbent` (default: the best greedy placement),
    stops at the live-set lower bound or at `good_enough`, and after `node_budget` nodes returns
    the best placement found, not proven optimal.
    """
    if incumbent is None:
        incumbent = min((algorithm(buffers) for algorithm in GREEDY), key=lambda p: arena_size(buffers, p))
    best_size = arena_size(buffers, incumbent)
    floor = max(lower_bound(buffers), good_enough)
    if best_size <= floor:
        return SearchResult(dict(incumbent), best_size, best_size <= lower_bound(buffers), 0)

    # Empty buffers never conflict: they sit at 0 and take no part in the search.
    items = [i for i, b in enumerate(buffers) if b.size > 0]
    items.sort(key=lambda i: buffers[i].name)
    search = [buffers[i] for i in items]
    n = len(search)
    sizes = [b.size for b in search]
    aligns = [b.alignment for b in search]
    conflicts = _conflicts(search)
    cliques = _maximal_live_sets(search)
    offsets = [-1] * n
    best_offsets: list[int] | None = None
    nodes = 0
    stopped = False

    def fit(i: int) -> int:
        occupied = [(offsets[j], offsets[j] + sizes[j]) for j in conflicts[i] if offsets[j] >= 0]
        return _first_fit_offset(sizes[i], aligns[i], occupied)

    def bound(ffs: list[int], last: int) -> int:
        # In a live set all buffers conflict. The placed ones start at or below `last`, so the
        # unplaced ones go above the highest placed end, each no lower than its current first fit.
        result = 0
        for clique in cliques:
            floor_c = last
            releases = []
            for i in clique:
                if offsets[i] >= 0:
                    floor_c = max(floor_c, offsets[i] + sizes[i])
                else:
                    releases.append((ffs[i], sizes[i]))
            end = floor_c
            for release, size in sorted(releases):
                end = max(end, release) + size
            result = max(result, end)
        return result

    def dfs(placed: int, last: int, last_index: int, top: int, ffs: list[int]) -> None:
        nonlocal nodes, stopped, best_size, best_offsets
        nodes += 1
        if nodes > node_budget:
            stopped = True
            return
        if placed == n:
            if top < best_size:
                best_size, best_offsets = top, list(offsets)
            return
        if max(top, bound(ffs, last)) >= best_size:
            return
        unplaced = [i for i in range(n) if offsets[i] < 0]
        # A child at offset o strands every other buffer whose lowest fit ends at or below o.
        ends = heapq.nsmallest(2, ((ffs[i] + sizes[i], i) for i in unplaced))
        candidates = []
        for i in unplaced:
            o = ffs[i]
            if (o, i) <= (last, last_index) or o + sizes[i] >= best_size:
                continue
            other = ends[0] if ends[0][1] != i else ends[1] if len(ends) > 1 else None
            if other is not None and other[0] <= o:
                continue
            candidates.append((o, -sizes[i], i))
        for o, _, i in sorted(candidates):
            offsets[i] = o
            child = list(ffs)
            end = o + sizes[i]
            for j in conflicts[i]:
                if offsets[j] < 0 and child[j] < end and o < child[j] + sizes[j]:
                    child[j] = fit(j)
            dfs(placed + 1, o, i, max(top, end), child)
            offsets[i] = -1
            if stopped or best_size <= floor:
                return

    def proven() -> bool:  # stopping early at `good_enough` proves nothing
        return best_size <= lower_bound(buffers) or (not stopped and best_size > floor)

    dfs(0, 0, -1, 0, [0] * n)
    if best_offsets is None:
        return SearchResult(dict(incumbent), best_size, proven(), nodes)
    placement = {b.name: 0 for b in buffers}
    placement.update({b.name: offset for b, offset in zip(search, best_offsets, strict=True)})
    return SearchResult(placement, best_size, proven(), nodes)


def _maximal_live_sets(buffers: list[Buffer]) -> list[list[int]]:
    """The sets of buffers live at one step that are not contained in another step's set."""
    index = {b.name: i for i, b in enumerate(buffers)}
    sets = {frozenset(index[b.name] for b in live) for live in live_buffers_per_step(buffers).values()}
    maximal = [s for s in sets if not any(s < other for other in sets)]
    return sorted(sorted(s) for s in maximal)


def exact(buffers: list[Buffer]) -> Placement:
    """The smallest arena (branch and bound, see exact_search); the best found within the node budget."""
    return exact_search(buffers).placement


GREEDY: tuple[Algorithm, ...] = (greedy_by_size, greedy_by_conflicts, best_fit_by_size, best_fit_by_lifetime)

# Name -> algorithm. The planner tries them in this order and keeps the first smallest arena.
ALGORITHMS: dict[str, Algorithm] = {
    "greedy_by_size": greedy_by_size,
    "greedy_by_conflicts": greedy_by_conflicts,
    "best_fit_by_size": best_fit_by_size,
    "best_fit_by_lifetime": best_fit_by_lifetime,
    "hill_climb": hill_climb,
    "exact": exact,
}
SEARCHES = ("hill_climb", "exact")  # run only when the others leave a gap to the lower bound
