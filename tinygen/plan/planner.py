"""Plan the arena: run the placement algorithms, keep the smallest, check the result.

The greedy algorithms always run (they take microseconds); the searches (hill_climb, then the
exact branch and bound for graphs of at most EXACT_MAX_BUFFERS buffers) run only while the best
arena is above the live-set lower bound, which no placement can beat. A RAM budget between the
lower bound and the arena found makes the exact search try harder before giving up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import progress
from ..errors import TinygenError
from ..ir import Graph, align_up
from .algorithms import ALGORITHMS, EXACT_NODE_BUDGET, SEARCHES, Placement, arena_size, exact_search
from .liveness import Buffer, Overlap, analyze, live_buffers_per_step, live_bytes_per_step, lower_bound, peak_step

ARENA_ALIGNMENT = 8
EXACT_MAX_BUFFERS = 64  # the exact search runs on graphs with at most this many buffers
BUDGET_SEARCH_FACTOR = 10  # with a RAM budget to meet, the exact search may visit this many times more nodes


class MemoryBudgetError(TinygenError):
    """No arena plan fits the RAM budget the user gave."""


@dataclass(frozen=True)
class MemoryPlan:
    arena_size: int  # bytes, rounded up to ARENA_ALIGNMENT
    lower_bound: int  # largest live set of this schedule: no placement can do better
    algorithm: str
    buffers: list[Buffer]
    offsets: dict[str, int]  # buffer -> offset
    storage_of: dict[str, str]  # tensor -> buffer
    scratch_of: dict[int, str]  # node index -> scratch buffer
    steps: int = 0  # nodes in the schedule; steps run from -1 (inputs copied in) to `steps` (outputs out)
    results: dict[str, int] = field(default_factory=dict)  # algorithm -> arena it found (unrounded)
    optimal: bool = False  # proven smallest for this schedule (lower bound reached or search exhausted)
    used_bytes: int = 0  # up to the end of the highest buffer (arena_size rounds it up)
    overlaps: list[Overlap] = field(default_factory=list)  # the in-place pairs the kernels allowed
    used: list[Overlap] = field(default_factory=list)  # those the placement was allowed to use

    @functools.cached_property
    def _shared(self) -> list[Overlap]:
        sizes = {b.name: b.size for b in self.buffers}
        return [o for o in self.used
                if self.offsets[o.target] < self.offsets[o.source] + sizes[o.source]
                and self.offsets[o.source] < self.offsets[o.target] + sizes[o.target]]

    @functools.cached_property
    def _shared_by_step(self) -> dict[int, list[Overlap]]:
        result: dict[int, list[Overlap]] = {}
        for o in self._shared:
            result.setdefault(o.step, []).append(o)
        return result

    def shared(self) -> list[Overlap]:
        """The in-place pairs the placement uses: the target overlaps its source (computed once: codegen
        asks per layer, and a plan never changes)."""
        return list(self._shared)

    def in_place(self, step: int, input_index: int) -> Overlap | None:
        """The in-place pair of node `step`'s input `input_index` that the placement uses, if any."""
        return next((o for o in self._shared_by_step.get(step, []) if o.input == input_index), None)

    storage_offset: dict[str, int] = field(default_factory=dict)  # tensor -> offset in its buffer (views)

    def tensor_offset(self, tensor: str) -> int:
        return self.offsets[self.storage_of[tensor]] + self.storage_offset.get(tensor, 0)

    def scratch(self, step: int) -> tuple[int, int] | None:
        """(offset, size) of node `step`'s scratch, if it has any."""
        name = self.scratch_of.get(step)
        if name is None:
            return None
        size = next(b.size for b in self.buffers if b.name == name)
        return self.offsets[name], size

    def live_per_step(self) -> dict[int, int]:
        """Bytes live at each step (less what the in-place pairs live there may share)."""
        return dict(sorted(live_bytes_per_step(self.buffers, self.overlaps).items()))

    def live_buffers_per_step(self) -> dict[int, list[Buffer]]:
        """The buffers live at each step, largest first."""
        return live_buffers_per_step(self.buffers)

    def peak_step(self) -> int | None:
        """The first step whose live set equals the lower bound."""
        return peak_step(self.buffers, self.overlaps)

    def report(self, graph: Graph | None = None) -> str:
        """A text table: per step, the node run, the bytes live and the buffers live with their offsets."""
        lines = [f"arena {self.arena_size:,} B (lower bound for this schedule {self.lower_bound:,} B; "
                 f"{self.algorithm}{', optimal' if self.optimal else ''})",
                 "algorithms: " + ", ".join(f"{name} {size:,} B" for name, size in self.results.items()),
                 f"{'step':>5}  {'node':<32} {'live B':>8}  buffers (offset+size)"]
        per_step = self.live_per_step()
        for step, live in self.live_buffers_per_step().items():
            lines.append(f"{step:>5}  {_step_label(graph, step, self.steps):<32.32} {per_step[step]:>8,}  "
                         + ", ".join(f"{b.name}@{self.offsets[b.name]}+{b.size}" for b in live))
        return "\n".join(lines)


def _step_label(graph: Graph | None, step: int, steps: int) -> str:
    if step < 0:
        return "(inputs copied in)"
    if step >= steps:
        return "(outputs copied out)"
    if graph is None:
        return ""
    node = graph.nodes[step]
    return f"{node.op} '{node.name}'"


def arena_bytes(used: int) -> int:
    """The arena for `used` bytes: rounded up to ARENA_ALIGNMENT."""
    return align_up(used, ARENA_ALIGNMENT)


def within(arena: int, ram_budget: int | None) -> bool:
    """The one RAM budget check: does an arena of `arena` bytes fit the budget (none: anything fits)?"""
    return ram_budget is None or arena <= ram_budget


def plan_memory(graph: Graph, algorithms: list[str] | None = None, *, ram_budget: int | None = None,
                exact_budget: int = EXACT_NODE_BUDGET, in_place: bool = True, report: bool = False) -> MemoryPlan:
    """Place every buffer of the scheduled graph; raise MemoryBudgetError if the arena exceeds `ram_budget`.
    With `in_place`, outputs may overlap the inputs their kernels allow (Op.in_place). `report`: a
    progress task, one step per algorithm (the final plan; not the many trial plans of a search)."""
    if report:
        label = f"planning: placing {len(graph.nodes)} layers' buffers in the arena"
        with progress.task(label, len(algorithms or ALGORITHMS)) as advance:
            return _plan_memory(graph, algorithms, ram_budget, exact_budget, in_place, advance)
    return _plan_memory(graph, algorithms, ram_budget, exact_budget, in_place, lambda steps: None)


def _plan_memory(graph: Graph, algorithms: list[str] | None, ram_budget: int | None, exact_budget: int,
                 in_place: bool, advance: Callable[[int], None]) -> MemoryPlan:
    liveness = analyze(graph, in_place)
    buffers, overlaps = liveness.buffers, liveness.overlaps
    floor = lower_bound(buffers, overlaps)
    names = algorithms or list(ALGORITHMS)
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown:
        raise ValueError(f"unknown placement algorithm(s) {unknown}; known: {sorted(ALGORITHMS)}")
    subsets = overlap_subsets(buffers, overlaps, floor)
    results: dict[str, int] = {}
    best: tuple[int, str, Placement, list[Overlap]] | None = None
    optimal = False
    for name in names:
        advance(1)
        if name in SEARCHES and best is not None and best[0] <= floor:
            continue  # the lower bound is reached: nothing left to search for
        if name == "exact":  # on the pairs that gave the best arena so far
            if algorithms is None and len(buffers) > EXACT_MAX_BUFFERS:
                continue
            chosen = best[3] if best is not None else overlaps
            result = exact_search(buffers, chosen, node_budget=exact_budget, incumbent=best[2] if best else None)
            tries = [(result.placement, chosen)]
            optimal = result.proven
        else:
            tries = [(ALGORITHMS[name](buffers, subset), subset) for subset in subsets]
        for placement, subset in tries:
            check_placement(buffers, placement, subset)
            size = arena_size(buffers, placement)
            results[name] = min(results.get(name, size), size)
            if best is None or size < best[0]:
                best = (size, name, placement, subset)
    assert best is not None
    if (ram_budget is not None and not within(arena_bytes(best[0]), ram_budget) and floor <= ram_budget and not optimal
            and len(buffers) <= EXACT_MAX_BUFFERS):
        target = ram_budget - ram_budget % ARENA_ALIGNMENT  # the largest arena within the budget
        result = exact_search(buffers, best[3], node_budget=BUDGET_SEARCH_FACTOR * exact_budget,
                              incumbent=best[2], good_enough=target)
        check_placement(buffers, result.placement, best[3])
        results["exact"] = result.arena
        if result.arena < best[0]:
            best = (result.arena, "exact", result.placement, best[3])
        optimal = result.proven
    size, name, placement, used = best
    plan = MemoryPlan(arena_bytes(size), floor, name, buffers, placement, liveness.storage_of,
                      liveness.scratch_of, liveness.steps, results, optimal or size <= floor, size, overlaps, used,
                      liveness.storage_offset)
    if ram_budget is not None and not within(plan.arena_size, ram_budget):
        raise MemoryBudgetError(budget_message(plan, ram_budget, graph))
    return plan


def stored_plan(graph: Graph, stored: dict) -> MemoryPlan:
    """The plan a compile made, from what it stored (plan_record) and the stored graph: the same buffers
    and offsets, so a report sees the placement the generated C uses (re-planning the final graph
    could differ: kernel variants were fitted into an existing placement)."""
    liveness = analyze(graph, stored.get("in_place", True))
    offsets = {name: int(offset) for name, offset in stored["offsets"].items()}
    if {b.name for b in liveness.buffers} != set(offsets):
        raise ValueError("the stored plan does not match the graph's buffers")
    used_pairs = {tuple(pair) for pair in stored.get("used", [])}
    used = [o for o in liveness.overlaps if (o.source, o.target) in used_pairs]
    top = max((offsets[b.name] + b.size for b in liveness.buffers), default=0)
    floor = lower_bound(liveness.buffers, liveness.overlaps)
    return MemoryPlan(arena_bytes(top), floor, stored.get("algorithm", ""), liveness.buffers, offsets,
                      liveness.storage_of, liveness.scratch_of, liveness.steps, {}, top <= floor, top,
                      liveness.overlaps, used, liveness.storage_offset)


def plan_record(plan: MemoryPlan, in_place: bool = True) -> dict:
    """What stored_plan needs: offsets of every buffer and the in-place pairs the placement may use."""
    return {"offsets": dict(sorted(plan.offsets.items())), "used": sorted([o.source, o.target] for o in plan.used),
            "algorithm": plan.algorithm, "in_place": in_place}


MAX_OVERLAP_SUBSETS = 12


def overlap_subsets(buffers: list[Buffer], overlaps: list[Overlap], floor: int) -> list[list[Overlap]]:
    """Which in-place pairs to let the algorithms use. Each pair helps at its own step, but pairs in a
    chain also tie offsets together (every target below its source, by its delta), so a chain of them
    can need more room than any one step. So besides all of them, try keeping only the pairs without
    which their step would need more than T bytes, for T from the lower bound up through the steps'
    needs: the pairs that lower the peak stay, the ones that only constrain go."""
    if not overlaps:
        return [[]]
    live = live_bytes_per_step(buffers, overlaps)
    sizes = {b.name: b.size for b in buffers}
    spans = {b.name: (b.first, b.last) for b in buffers}

    def need(o: Overlap) -> int:
        steps = range(max(spans[o.source][0], spans[o.target][0]), min(spans[o.source][1], spans[o.target][1]) + 1)
        return max(live[step] + o.saving(sizes) for step in steps)  # the step if this pair shared nothing

    needs = {o: need(o) for o in overlaps}
    subsets = [list(overlaps)]
    for threshold in sorted({floor, *(need for need in needs.values() if need > floor)}):
        subset = [o for o in overlaps if needs[o] > threshold]
        if subset != subsets[-1]:
            subsets.append(subset)
        if len(subsets) >= MAX_OVERLAP_SUBSETS:
            break
    return subsets


def budget_message(plan: MemoryPlan, ram_budget: int, graph: Graph) -> str:
    """Why the plan does not fit, and what could make it fit."""
    lines = [f"the activation arena needs {plan.arena_size:,} B, over the RAM budget of {ram_budget:,} B "
             f"by {plan.arena_size - ram_budget:,} B; nothing was written."]
    step = plan.peak_step()
    if plan.lower_bound > ram_budget:
        lines.append(f"No placement can fit: {plan.lower_bound:,} B are live at once in this schedule "
                     f"(the lower bound), already above the budget.")
    else:
        rounded = (f"; the arena is rounded up to {ARENA_ALIGNMENT} bytes"
                   if plan.used_bytes != plan.arena_size else "")
        if plan.optimal:
            lines.append(f"The lower bound is {plan.lower_bound:,} B, but the tensors' lifetimes cannot be "
                         f"packed below {plan.used_bytes:,} B (exhaustive search{rounded}).")
        else:
            lines.append(f"The lower bound is {plan.lower_bound:,} B; the best placement found needs "
                         f"{plan.used_bytes:,} B (the search stopped at its budget{rounded}).")
    if step is not None:
        live = plan.live_buffers_per_step()[step]
        where = _step_label(graph, step, plan.steps)
        lines.append(f"Largest live set, at step {step} {where}: "
                     + ", ".join(f"{b.name} ({b.size:,} B)" for b in live[:6])
                     + (f" and {len(live) - 6} more" if len(live) > 6 else ""))
    lines.append("What could help: a smaller input resolution or fewer channels in the layers around that "
                 "step; splitting the largest layer; or a larger budget (leave room for the stack too).")
    return "\n".join(lines)


def check_placement(buffers: list[Buffer], placement: dict[str, int], overlaps: Sequence[Overlap] = ()) -> None:
    """Every buffer placed, aligned, and no two buffers live at the same time share a byte -- except
    an in-place pair placed as its kernel allows (the target `delta` below the source, or lower)."""
    for buffer in buffers:
        offset = placement[buffer.name]
        assert offset >= 0 and offset % buffer.alignment == 0, f"{buffer.name} misplaced at {offset}"
    allowed = {}
    for o in overlaps:
        allowed[(o.source, o.target)] = allowed[(o.target, o.source)] = o
    # Sweep over time, not space: the pairs live at once are few per buffer (a chain of n layers has
    # O(n) of them), while in a deep graph many buffers share offsets at different times.
    ordered = sorted((b for b in buffers if b.size), key=lambda b: (b.first, b.name))
    for i, a in enumerate(ordered):
        a_start, a_end = placement[a.name], placement[a.name] + a.size
        for b in ordered[i + 1:]:
            if b.first > a.last:
                break
            if placement[b.name] < a_end and a_start < placement[b.name] + b.size:
                pair = allowed.get((a.name, b.name))
                if pair is not None:
                    shift = placement[pair.source] - placement[pair.target]
                    if shift == pair.delta or (not pair.exact and shift >= pair.delta):
                        continue
                raise AssertionError(f"buffers {a.name} and {b.name} overlap in space and time")
