"""Placement algorithms: buffers with lifetimes in, byte offsets out.

Every algorithm has the same signature, (buffers, overlaps) -> {buffer name: offset}, and is
listed in ALGORITHMS by name; planner.py runs them and keeps the smallest arena. All are deterministic:
ties are broken by buffer name, and the searches (hill_climb, exact) are bounded by a count of
evaluations or search nodes, never by the clock, so the same buffers always get the same offsets.

Two buffers conflict when their lifetimes overlap; conflicting buffers must not share a byte.
Placing buffers one by one at the lowest offset that fits ("first fit") in a well-chosen order is
the classic approach (TFLM's GreedyMemoryPlanner, TVM USMP's greedy_by_size/greedy_by_conflicts).
It is also complete: for every placement there is an order in which first fit puts each buffer at
or below its offset there (place them by increasing offset), which is what the exact search uses.

In-place pairs (liveness.Overlap) relax one conflict: the target may sit `delta` bytes below the
source (exactly, or anywhere lower), overlapping it. All the algorithms see conflicts as open
intervals of forbidden offsets relative to a placed neighbour, so a relaxed pair is just a smaller
(or split) interval; first fit and best fit then place a target over its source whenever that is
the lowest (tightest) spot. With such pairs the completeness argument above no longer holds, so
the exact search then proves nothing beyond reaching the lower bound.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..ir import align_up
from .liveness import Buffer, Overlap, live_buffers_per_step, lower_bound

Placement = dict[str, int]
Algorithm = Callable[[list[Buffer], Sequence[Overlap]], Placement]
Interval = tuple[int, int]  # an open interval of forbidden offsets, relative to a placed neighbour
Conflicts = list[list[tuple[int, tuple[Interval, ...]]]]

HILL_CLIMB_STEPS = 400  # placements evaluated by hill_climb
HILL_CLIMB_SEED = 0
EXACT_NODE_BUDGET = 20_000  # search nodes visited by exact before it returns the best found so far


def arena_size(buffers: list[Buffer], placement: Placement) -> int:
    return max((placement[b.name] + b.size for b in buffers), default=0)


# --- shared pieces --------------------------------------------------------------------------------

def _conflicts(buffers: Sequence[Buffer], overlaps: Sequence[Overlap] = ()) -> Conflicts:
    """For each buffer i, the non-empty buffers j whose lifetimes overlap its own, each with the
    open intervals of offsets i may not take, relative to j's offset: (-size_i, size_j) for two
    ordinary buffers (no shared byte), less for an in-place pair."""
    index = {b.name: i for i, b in enumerate(buffers)}
    relaxed: dict[tuple[int, int], tuple[Interval, ...]] = {}
    for overlap in overlaps:
        a, b = index[overlap.source], index[overlap.target]
        sa, sb, d = buffers[a].size, buffers[b].size, overlap.delta
        if overlap.exact:  # b exactly at a - d, or clear of a
            relaxed[(b, a)] = ((-sb, -d), (-d, sa))
            relaxed[(a, b)] = ((-sa, d), (d, sb))
        else:  # b at a - d or lower, or clear of a above
            relaxed[(b, a)] = ((-min(d, sb), sa),)
            relaxed[(a, b)] = ((-sa, min(d, sb)),)
    result: list[list[tuple[int, tuple[Interval, ...]]]] = [[] for _ in buffers]
    by_first = sorted(range(len(buffers)), key=lambda i: (buffers[i].first, i))
    for position, i in enumerate(by_first):
        for j in by_first[position + 1:]:
            if buffers[j].first > buffers[i].last:
                break
            if buffers[i].size and buffers[j].size:
                result[i].append((j, relaxed.get((i, j), ((-buffers[i].size, buffers[j].size),))))
                result[j].append((i, relaxed.get((j, i), ((-buffers[j].size, buffers[i].size),))))
    return result


def _forbidden(conflicts_i: list[tuple[int, tuple[Interval, ...]]], offsets: Sequence[int]) -> list[Interval]:
    """The absolute forbidden intervals for a buffer, given its placed neighbours' offsets."""
    return [(offsets[j] + lo, offsets[j] + hi) for j, intervals in conflicts_i if offsets[j] >= 0
            for lo, hi in intervals if lo < hi]


def _allowed_regions(forbidden: list[Interval], alignment: int) -> list[tuple[int, int | None]]:
    """The closed ranges [start, end] of aligned offsets >= 0 outside every open interval (the
    last one unbounded: end None), lowest first."""
    regions: list[tuple[int, int | None]] = []
    candidate = 0
    for lo, hi in sorted(forbidden):
        if candidate <= lo:
            end = lo // alignment * alignment
            if end >= candidate:
                regions.append((candidate, end))
        if hi > candidate:
            candidate = align_up(hi, alignment)
    regions.append((candidate, None))
    return regions


def first_fit_offset(forbidden: list[Interval], alignment: int) -> int:
    """Lowest aligned offset outside every forbidden interval."""
    candidate = 0
    for lo, hi in sorted(forbidden):
        if candidate <= lo:
            break
        if hi > candidate:
            candidate = align_up(hi, alignment)
    return candidate


def _best_fit_offset(forbidden: list[Interval], alignment: int) -> int:
    """The lowest offset of the tightest bounded range of allowed offsets (a gap between placed
    buffers that holds this one with the least room to spare); above all of them when none."""
    regions = _allowed_regions(forbidden, alignment)
    bounded = [(end - start, start) for start, end in regions if end is not None]
    return min(bounded)[1] if bounded else regions[-1][0]


def _place_in_order(buffers: Sequence[Buffer], order: Sequence[int], conflicts: Conflicts,
                    fit: Callable[[list[Interval], int], int] = first_fit_offset) -> list[int]:
    """Offsets (by buffer index) from placing the buffers one by one in `order` with `fit`."""
    offsets = [-1] * len(buffers)
    for i in order:
        offsets[i] = fit(_forbidden(conflicts[i], offsets), buffers[i].alignment)
    return offsets


def _top(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((offset + buffer.size for buffer, offset in zip(buffers, offsets, strict=True)), default=0)


def _as_placement(buffers: Sequence[Buffer], offsets: Sequence[int]) -> Placement:
    return {buffer.name: offset for buffer, offset in zip(buffers, offsets, strict=True)}


def _size_order(buffers: Sequence[Buffer]) -> list[int]:
    return sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].first, buffers[i].name))


def _targets_first(order: list[int], buffers: Sequence[Buffer], overlaps: Sequence[Overlap]) -> list[int]:
    """`order` with every in-place target moved just before its source (recursively, down a chain):
    a target sits at or below its source, so placed first at its lowest offset it leaves the source
    room to settle `delta` above it; placed after, it would find no room below a source at 0."""
    if not overlaps:
        return order
    index = {b.name: i for i, b in enumerate(buffers)}
    targets: dict[int, list[int]] = {}
    for o in overlaps:
        targets.setdefault(index[o.source], []).append(index[o.target])
    result: list[int] = []
    placed: set[int] = set()

    def visit(i: int) -> None:
        if i in placed:
            return
        placed.add(i)
        for t in targets.get(i, []):
            visit(t)
        result.append(i)

    for i in order:
        visit(i)
    return result


# --- the greedy algorithms ----------------------------------------------------------------------

def greedy_by_size(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> Placement:
    """Largest buffers first, each at the lowest offset that fits (TFLM's GreedyMemoryPlanner)."""
    order = _targets_first(_size_order(buffers), buffers, overlaps)
    return _as_placement(buffers, _place_in_order(buffers, order, _conflicts(buffers, overlaps)))


def greedy_by_conflicts(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> Placement:
    """Buffers that conflict with the most others first (then larger first), each at the lowest
    offset that fits (TVM USMP's greedy_by_conflicts)."""
    conflicts = _conflicts(buffers, overlaps)
    order = sorted(range(len(buffers)), key=lambda i: (-len(conflicts[i]), -buffers[i].size,
                                                       buffers[i].first, buffers[i].name))
    return _as_placement(buffers, _place_in_order(buffers, _targets_first(order, buffers, overlaps), conflicts))


def best_fit_by_size(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> Placement:
    """Largest buffers first, each into the tightest gap that holds it (best-fit decreasing)."""
    order = _targets_first(_size_order(buffers), buffers, overlaps)
    return _as_placement(buffers, _place_in_order(buffers, order, _conflicts(buffers, overlaps), _best_fit_offset))


def best_fit_by_lifetime(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> Placement:
    """Longest-lived buffers first (then larger first), each into the tightest gap that holds it:
    long-lived tensors (residual shortcuts, graph inputs) settle at the bottom and the short-lived
    ones fill the holes above them."""
    order = sorted(range(len(buffers)), key=lambda i: (-(buffers[i].last - buffers[i].first), -buffers[i].size,
                                                       buffers[i].first, buffers[i].name))
    return _as_placement(buffers, _place_in_order(buffers, _targets_first(order, buffers, overlaps),
                                                  _conflicts(buffers, overlaps), _best_fit_offset))


# --- hill climbing over placement orders (TVM USMP's hill_climb) -------------------------------

def hill_climb(buffers: list[Buffer], overlaps: Sequence[Overlap] = (), steps: int = HILL_CLIMB_STEPS,
               seed: int = HILL_CLIMB_SEED) -> Placement:
    """Start from the greedy-by-size order and improve it: move a buffer that reaches the top of
    the arena to an earlier place in the order (or swap two random buffers), place with first fit,
    keep the new order if the arena did not grow. A seeded generator makes it reproducible; the
    buffers are taken in name order, so the result does not depend on the order they come in."""
    buffers = sorted(buffers, key=lambda b: b.name)
    conflicts = _conflicts(buffers, overlaps)
    floor = lower_bound(buffers, overlaps)
    order = _targets_first(_size_order(buffers), buffers, overlaps)
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


def exact_search(buffers: list[Buffer], overlaps: Sequence[Overlap] = (), *, node_budget: int = EXACT_NODE_BUDGET,
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
    the best placement found, not proven optimal. With in-place pairs the bound subtracts what the
    pairs of a live set may share, and only reaching the lower bound proves anything.
    """
    if incumbent is None:
        incumbent = min((algorithm(buffers, overlaps) for algorithm in GREEDY),
                        key=lambda p: arena_size(buffers, p))
    best_size = arena_size(buffers, incumbent)
    absolute = lower_bound(buffers, overlaps)
    floor = max(absolute, good_enough)
    if best_size <= floor:
        return SearchResult(dict(incumbent), best_size, best_size <= absolute, 0)

    # Empty buffers never conflict: they sit at 0 and take no part in the search.
    items = [i for i, b in enumerate(buffers) if b.size > 0]
    items.sort(key=lambda i: buffers[i].name)
    search = [buffers[i] for i in items]
    n = len(search)
    sizes = [b.size for b in search]
    aligns = [b.alignment for b in search]
    position = {b.name: k for k, b in enumerate(search)}
    pairs = [o for o in overlaps if o.source in position and o.target in position]
    conflicts = _conflicts(search, pairs)
    given = {(i, j): intervals for i, row in enumerate(conflicts) for j, intervals in row}
    cliques = _maximal_live_sets(search)
    sizes_by_name = {b.name: b.size for b in search}
    shared = [[(position[o.source], position[o.target], o.saving(sizes_by_name)) for o in pairs
               if position[o.source] in clique and position[o.target] in clique] for clique in map(set, cliques)]
    offsets = [-1] * n
    best_offsets: list[int] | None = None
    nodes = 0
    stopped = False

    def fit(i: int) -> int:
        return first_fit_offset(_forbidden(conflicts[i], offsets), aligns[i])

    # The node bound, kept per live set and updated only where a placement changed something: for a live
    # set with unplaced buffers, stacking them from `last` gives max(last + W, V) with
    #   W = (their sizes) - (what its in-place pairs may share),
    #   V = max(highest placed end + their sizes, max over them in release order of release + the sizes
    #       from there on) - (the same sharing),
    # the closed form of "end = max(end, release) + size" taken in release order. A fully placed set ends
    # below `top`, which the search compares anyway: it counts as NONE.
    live_sets = [(tuple(clique), tuple(sharing)) for clique, sharing in zip(cliques, shared, strict=True)]
    sets_of: list[list[int]] = [[] for _ in range(n)]
    for c, (clique, _) in enumerate(live_sets):
        for i in clique:
            sets_of[i].append(c)
    none = -(1 << 62)

    def set_value(c: int, ffs: list[int]) -> tuple[int, int]:
        clique, sharing = live_sets[c]
        placed_end, releases, total = 0, [], 0
        for i in clique:
            if offsets[i] >= 0:
                placed_end = max(placed_end, offsets[i] + sizes[i])
            else:
                releases.append((ffs[i], sizes[i]))
                total += sizes[i]
        if not releases:
            return none, none
        value, rest = placed_end + total, total
        for release, size in sorted(releases):
            value = max(value, release + rest)
            rest -= size
        share = sum(saving for a, b, saving in sharing if offsets[a] < 0 or offsets[b] < 0)
        return value - share, total - share

    values = [set_value(c, [0] * n) for c in range(len(live_sets))]
    v_of = [v for v, _ in values]
    w_of = [w for _, w in values]

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
        if top >= best_size or (live_sets and max(last + max(w_of), max(v_of)) >= best_size):
            return
        unplaced = [i for i in range(n) if offsets[i] < 0]
        # A child at offset o strands every other buffer whose lowest fit ends at or below o.
        ends = [(ffs[i] + sizes[i], i) for i in unplaced]
        lowest = min(ends)
        second = min((end for end in ends if end[1] != lowest[1]), default=None)
        candidates = []
        for i in unplaced:
            o = ffs[i]
            if (o, i) <= (last, last_index) or o + sizes[i] >= best_size:
                continue
            other = lowest if lowest[1] != i else second
            if other is not None and other[0] <= o:
                continue
            candidates.append((o, -sizes[i], i))
        for o, _, i in sorted(candidates):
            offsets[i] = o
            child = list(ffs)
            end = o + sizes[i]
            touched = set(sets_of[i])
            for j, _ in conflicts[i]:
                if offsets[j] < 0 and any(o + lo < child[j] < o + hi for lo, hi in given[(j, i)]):
                    child[j] = fit(j)
                    if child[j] != ffs[j]:
                        touched.update(sets_of[j])
            saved = [(c, v_of[c], w_of[c]) for c in touched]
            for c in touched:
                v_of[c], w_of[c] = set_value(c, child)
            dfs(placed + 1, o, i, max(top, end), child)
            offsets[i] = -1
            for c, v, w in saved:
                v_of[c], w_of[c] = v, w
            if stopped or best_size <= floor:
                return

    def proven() -> bool:  # stopping early at `good_enough` proves nothing
        return best_size <= absolute or (not stopped and best_size > floor and not pairs)

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


def exact(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> Placement:
    """The smallest arena (branch and bound, see exact_search); the best found within the node budget."""
    return exact_search(buffers, overlaps).placement


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
