"""The planning driver: schedule -> patches -> kernel variants -> placement, in one place.

    1. every layer starts in its kernel of least scratch (plan/variants.py: RAM first);
    2. the schedule with the smallest peak is chosen (plan/schedule.py);
    3. the buffers are placed (plan/planner.py), which is where the RAM budget is checked;
    4. when that does not fit the budget, the first layers are split into row bands (the search in
       plan/patches.py, the rewrite in passes/split_bands.py) and 1-3 run again;
    5. faster kernel variants are bought back wherever their scratch still fits (plan/variants.py).
The result is an immutable MemoryPlan; the graph carries each layer's kernel (node.attrs["variant"]),
the schedule (its node order) and any band split.
"""

from __future__ import annotations

from .. import progress
from ..ir import Graph
from ..passes import split_bands
from . import patches as patch_search
from .algorithms import ALGORITHMS
from .liveness import analyze, lower_bound
from .planner import MemoryBudgetError, MemoryPlan, plan_memory, within
from .schedule import schedule_nodes
from .variants import RULES, assign_variants, buy_speed


def plan_graph(graph: Graph, ram_budget: int | None = None, *, in_place: bool = True, rule: str = "ram",
               patches: int | None = None, patch_layers: int | None = None) -> MemoryPlan:
    """Schedule and plan the graph, picking each layer's kernel variant by `rule` (plan/variants.py RULES).
    When not even the smallest variants fit `ram_budget`, the first layers run in row bands if some stage
    and band count fit; `patches` forces that many bands (over `patch_layers` layers, or the stage with the
    smallest arena). Raises MemoryBudgetError when nothing fits."""
    if rule not in RULES:
        raise ValueError(f"unknown variant rule {rule!r}; known: {RULES}")
    forced = patches is not None or patch_layers is not None
    if forced:
        _split_bands(graph, ram_budget, in_place, patches, patch_layers, forced=True)
    try:
        return _place(graph, ram_budget, in_place, rule)
    except MemoryBudgetError as error:
        if forced:
            raise
        applied, smallest = _split_bands(graph, ram_budget, in_place, None, None)
        if not applied:
            if smallest is not None:
                arena, length, count = smallest
                raise MemoryBudgetError(f"{error}\nPatch-based execution was tried too: the first {length} "
                                        f"layers in {count} row bands give the smallest arena, {arena:,} B.") from None
            raise
        return _place(graph, ram_budget, in_place, rule)


def _place(graph: Graph, ram_budget: int | None, in_place: bool, rule: str) -> MemoryPlan:
    """Steps 1-3 and 5 on the graph as it is. Each can take seconds on a large model (the exact placement
    search, the variant search), so each reports its progress (tinygen/progress.py)."""
    options = assign_variants(graph, rule)
    with progress.task(f"planning: scheduling {len(graph.nodes)} layers", 1) as advance:
        schedule_nodes(graph, in_place=in_place)
        advance(1)
    plan = plan_memory(graph, in_place=in_place, ram_budget=ram_budget, report=True)
    if rule != "ram":
        return plan
    return buy_speed(graph, plan, options, plan.arena_size if ram_budget is None else max(ram_budget, 0),
                     report=True)


def _split_bands(graph: Graph, ram_budget: int | None, in_place: bool, bands: int | None, layers: int | None,
                 forced: bool = False) -> tuple[bool, tuple[int, int, int] | None]:
    """Split the graph's first layers into row bands: the candidate with the fewest estimated extra cycles
    that fits `ram_budget` (forced without a budget: the smallest arena). Returns whether it split, and the smallest
    (arena, layers, bands) seen."""
    smallest: tuple[int, int, int] | None = None
    chosen: tuple[int, int] | None = None
    tried = patch_search.candidates(graph, bands, layers)
    with progress.task("planning: trying row-band splits (patches)", len(tried)) as advance:
        for length, count in tried:
            trial = graph.copy()
            split_bands.run(trial, length, count)
            arena = _smallest_arena(trial, in_place, ram_budget if not forced else None)
            advance(1)
            if smallest is None or arena < smallest[0]:
                smallest = (arena, length, count)
            if ram_budget is not None and within(arena, ram_budget):
                chosen = (length, count)
                break  # the fewest estimated extra cycles that fits
    if chosen is None and forced and ram_budget is None and smallest is not None:
        chosen = smallest[1:]
    if chosen is None:
        if forced:
            raise MemoryBudgetError("patch-based execution: " + (
                f"no stage and band count fits the RAM budget of {ram_budget:,} B" if smallest is not None
                and ram_budget is not None else "the model does not start with a chain of convolutions that "
                "can run in row bands"))
        return False, smallest
    split_bands.run(graph, *chosen)
    return True, smallest


def _smallest_arena(graph: Graph, in_place: bool, give_up_above: int | None = None) -> int:
    """The arena of the graph with every layer's variant of least scratch (no change to `graph`); just the
    lower bound when that is above `give_up_above` already."""
    trial = graph.copy()
    assign_variants(trial, "ram")
    schedule_nodes(trial, in_place=in_place)
    if give_up_above is not None:
        liveness = analyze(trial, in_place)
        bound = lower_bound(liveness.buffers, liveness.overlaps)
        if not within(bound, give_up_above):
            return bound
    quick = [name for name in ALGORITHMS if name != "exact"]  # a trial: the final plan searches harder
    return plan_memory(trial, quick, in_place=in_place).arena_size
