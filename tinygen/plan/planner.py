"""Plan the arena: run the placement algorithms, keep the smallest, check the result.

The greedy algorithms always run (they take microseconds); the searches (hill_climb, then the
exact branch and bound for graphs of at most EXACT_MAX_BUFFERS buffers) run only while the best
arena is above the live-set lower bound, which no placement can beat. A RAM budget between the
lower bound and the arena found makes the exact search try harder before giving up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TinygenError
from ..ir import Graph
from .algorithms import ALGORITHMS, EXACT_NODE_BUDGET, SEARCHES, Placement, arena_size, exact_search
from .liveness import Buffer, analyze, live_buffers_per_step, live_bytes_per_step, lower_bound, peak_step

ARENA_ALIGNMENT = 8
EXACT_MAX_BUFFERS = 64  # the exact search runs on graphs with at most this many buffers
BUDGET_SEARCH_FACTOR = 10  # with a RAM budget to meet, the exact search may visit this many times more nodes


class MemoryBudgetError(TinygenError):
    """No arena plan fits the RAM budget the user gave."""


@dataclass
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

    def tensor_offset(self, tensor: str) -> int:
        return self.offsets[self.storage_of[tensor]]

    def scratch(self, step: int) -> tuple[int, int] | None:
        """(offset, size) of node `step`'s scratch, if it has any."""
        name = self.scratch_of.get(step)
        if name is None:
            return None
        size = next(b.size for b in self.buffers if b.name == name)
        return self.offsets[name], size

    def live_per_step(self) -> dict[int, int]:
        """Bytes live at each step."""
        return dict(sorted(live_bytes_per_step(self.buffers).items()))

    def live_buffers_per_step(self) -> dict[int, list[Buffer]]:
        """The buffers live at each step, largest first."""
        return live_buffers_per_step(self.buffers)

    def peak_step(self) -> int | None:
        """The first step whose live set equals the lower bound."""
        return peak_step(self.buffers)

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


def _round_up(size: int) -> int:
    return (size + ARENA_ALIGNMENT - 1) // ARENA_ALIGNMENT * ARENA_ALIGNMENT


def plan_memory(graph: Graph, algorithms: list[str] | None = None, *, ram_budget: int | None = None,
                exact_budget: int = EXACT_NODE_BUDGET) -> MemoryPlan:
    """Place every buffer of the scheduled graph; raise MemoryBudgetError if the arena exceeds `ram_budget`."""
    liveness = analyze(graph)
    buffers = liveness.buffers
    floor = lower_bound(buffers)
    names = algorithms or list(ALGORITHMS)
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown:
        raise ValueError(f"unknown placement algorithm(s) {unknown}; known: {sorted(ALGORITHMS)}")
    results: dict[str, int] = {}
    best: tuple[int, str, Placement] | None = None
    optimal = False
    for name in names:
        if name in SEARCHES and best is not None and best[0] <= floor:
            continue  # the lower bound is reached: nothing left to search for
        if name == "exact":
            if algorithms is None and len(buffers) > EXACT_MAX_BUFFERS:
                continue
            result = exact_search(buffers, node_budget=exact_budget, incumbent=best[2] if best else None)
            placement, optimal = result.placement, result.proven
        else:
            placement = ALGORITHMS[name](buffers)
        check_placement(buffers, placement)
        size = arena_size(buffers, placement)
        results[name] = size
        if best is None or size < best[0]:
            best = (size, name, placement)
    assert best is not None
    if (ram_budget is not None and _round_up(best[0]) > ram_budget and floor <= ram_budget and not optimal
            and len(buffers) <= EXACT_MAX_BUFFERS):
        target = ram_budget // ARENA_ALIGNMENT * ARENA_ALIGNMENT
        result = exact_search(buffers, node_budget=BUDGET_SEARCH_FACTOR * exact_budget, incumbent=best[2],
                              good_enough=target)
        check_placement(buffers, result.placement)
        results["exact"] = result.arena
        if result.arena < best[0]:
            best = (result.arena, "exact", result.placement)
        optimal = result.proven
    size, name, placement = best
    plan = MemoryPlan(_round_up(size), floor, name, buffers, placement, liveness.storage_of,
                      liveness.scratch_of, liveness.steps, results, optimal or size <= floor, size)
    if ram_budget is not None and plan.arena_size > ram_budget:
        raise MemoryBudgetError(budget_message(plan, ram_budget, graph))
    return plan


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


def check_placement(buffers: list[Buffer], placement: dict[str, int]) -> None:
    """Every buffer placed, aligned, and no two buffers live at the same time share a byte."""
    for buffer in buffers:
        offset = placement[buffer.name]
        assert offset >= 0 and offset % buffer.alignment == 0, f"{buffer.name} misplaced at {offset}"
    ordered = sorted(buffers, key=lambda b: placement[b.name])
    for i, a in enumerate(ordered):
        a_end = placement[a.name] + a.size
        for b in ordered[i + 1:]:
            if placement[b.name] >= a_end:
                break
            if a.overlaps_in_time(b) and a.size and b.size:
                raise AssertionError(f"buffers {a.name} and {b.name} overlap in space and time")
