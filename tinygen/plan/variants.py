"""Which variant each layer runs: speed against RAM, one decision per layer.

The DSP kernel variants decide how they work from the scratch they are given: the convolutions widen
8 output pixels' taps at a time, or 4 with less scratch; the fully connected layers widen the input
row to int16 once, or, without scratch, widen each chunk of it as they go. Each Op lists its choices
(Op.variants: name, scratch bytes, estimated extra instructions), fastest first. Scratch lives in the
arena, so at the step that sets the arena's size a faster variant costs RAM, and anywhere else it is
free. The rule (docs/DESIGN.md, "Kernel variants: RAM first"):

  * RAM first: every layer starts with its variant of least scratch; the schedule and the plan are
    made with those, giving the smallest arena the kernels allow (the lower bound for that schedule
    included, the in-place relations used).
  * Then speed where it costs no RAM: layers move to faster variants, the largest estimated saving
    first, wherever the larger scratch still fits in that arena at its step -- or, with a RAM budget
    (--ram-budget BYTES), within the budget: a budget above the smallest arena buys speed.

The choice is recorded in node.attrs["variant"] (so it travels with the stored graph), reported by
`tinygen report` and the compile summary with its estimated cost, and measured by `tinygen bench`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from ..ops import op_of
from ..ops.base import Variant
from .algorithms import ALGORITHMS, _align, _first_fit_offset
from .liveness import Buffer, analyze, lower_bound, scratch_name
from .planner import ARENA_ALIGNMENT, MemoryBudgetError, MemoryPlan, budget_message, check_placement, plan_memory
from .schedule import Schedule, schedule_nodes


@dataclass
class Choice:
    step: int
    node: str
    variant: Variant
    fastest: Variant


def _round_up(size: int) -> int:
    return _align(size, ARENA_ALIGNMENT)


RULES = ("ram", "speed", "given")


def choose_variants(graph: Graph, ram_budget: int | None = None, *, in_place: bool = True, rule: str = "ram",
                    patches: int | None = None, patch_layers: int | None = None) -> tuple[MemoryPlan, Schedule]:
    """Schedule and plan the graph, picking each layer's variant: `rule` "ram" (the default, see the
    module docstring), "speed" (every layer's fastest variant) or "given" (as node.attrs["variant"]
    says, the fastest where it says nothing: tests pin variants so). When not even the smallest
    variants fit `ram_budget`, the first layers run in row bands if some stage and band count fit
    (plan/patches.py); `patches` forces that many bands (over `patch_layers` layers, or the stage with
    the smallest arena). Raises MemoryBudgetError when nothing fits."""
    if rule not in RULES:
        raise ValueError(f"unknown variant rule {rule!r}; known: {RULES}")
    forced = patches is not None or patch_layers is not None
    if forced:
        _patch(graph, ram_budget, in_place, patches, patch_layers, forced=True)
    try:
        return _choose(graph, ram_budget, in_place, rule)
    except MemoryBudgetError as error:
        if forced:
            raise
        applied, smallest = _patch(graph, ram_budget, in_place, None, None)
        if not applied:
            if smallest is not None:
                arena, length, count = smallest
                raise MemoryBudgetError(f"{error}\nPatch-based execution was tried too: the first {length} "
                                        f"layers in {count} row bands give the smallest arena, {arena:,} B.") from None
            raise
        return _choose(graph, ram_budget, in_place, rule)


def _patch(graph: Graph, ram_budget: int | None, in_place: bool, bands: int | None, layers: int | None,
           forced: bool = False) -> tuple[bool, tuple[int, int, int] | None]:
    """Patch the graph's first layers: the candidate with the fewest extra MACs that fits `ram_budget`
    (forced without a budget: the smallest arena). Returns whether it patched, and the smallest
    (arena, layers, bands) seen."""
    from . import patches

    smallest: tuple[int, int, int] | None = None
    chosen: tuple[int, int] | None = None
    for length, count in patches.candidates(graph, bands, layers):
        trial = patches.copy_graph(graph)
        patches.apply(trial, length, count)
        arena = _smallest_arena(trial, in_place, ram_budget if not forced else None)
        if smallest is None or arena < smallest[0]:
            smallest = (arena, length, count)
        if ram_budget is not None and arena <= ram_budget:
            chosen = (length, count)
            break  # the fewest extra MACs that fits
    if chosen is None and forced and ram_budget is None and smallest is not None:
        chosen = smallest[1:]
    if chosen is None:
        if forced:
            raise MemoryBudgetError("patch-based execution: " + (
                f"no stage and band count fits the RAM budget of {ram_budget:,} B" if smallest is not None
                and ram_budget is not None else "the model does not start with a chain of convolutions that "
                "can run in row bands"))
        return False, smallest
    patches.apply(graph, *chosen)
    return True, smallest


def _smallest_arena(graph: Graph, in_place: bool, give_up_above: int | None = None) -> int:
    """The arena of the graph with every layer's variant of least scratch (no change to `graph`); just the
    lower bound when that is above `give_up_above` already."""
    from .patches import copy_graph

    trial = copy_graph(graph)
    _assign_variants(trial, "ram")
    schedule_nodes(trial, in_place=in_place)
    if give_up_above is not None:
        liveness = analyze(trial, in_place)
        bound = lower_bound(liveness.buffers, liveness.overlaps)
        if bound > give_up_above:
            return bound
    quick = [name for name in ALGORITHMS if name != "exact"]  # a trial: the final plan searches harder
    return plan_memory(trial, quick, in_place=in_place).arena_size


def _assign_variants(graph: Graph, rule: str) -> dict[int, list[Variant]]:
    """Set each layer's starting variant by `rule` (RULES); returns every node's choices by id(node)."""
    options = {id(node): op_of(node).variants(node, graph) for node in graph.nodes}
    for node in graph.nodes:
        choices = options[id(node)]
        if not choices:
            continue
        if rule == "given":
            node.attrs["variant"] = next((v for v in choices if v.name == node.attrs.get("variant")), choices[0]).name
        else:
            node.attrs["variant"] = (choices[0] if rule == "speed" else min(choices, key=lambda v: v.scratch)).name
    return options


def _choose(graph: Graph, ram_budget: int | None, in_place: bool, rule: str) -> tuple[MemoryPlan, Schedule]:
    options = _assign_variants(graph, rule)
    schedule = schedule_nodes(graph, in_place=in_place)
    plan = plan_memory(graph, in_place=in_place)
    limit = plan.arena_size if ram_budget is None else max(ram_budget, 0)
    if plan.arena_size > limit:
        raise MemoryBudgetError(budget_message(plan, limit, graph))
    if rule != "ram":
        return plan, schedule
    upgrades = []
    for step, node in enumerate(graph.nodes):
        choices = options[id(node)]
        current = next((v for v in choices if v.name == node.attrs.get("variant")), None)
        if current is not None and current is not choices[0]:
            upgrades.append((-(current.cost - choices[0].cost), step))
    for _, step in sorted(upgrades):
        node = graph.nodes[step]
        choices = options[id(node)]
        current = next(v for v in choices if v.name == node.attrs["variant"])
        for faster in choices[:choices.index(current)]:  # fastest first
            if _fit_scratch(plan, step, faster.scratch, limit):
                node.attrs["variant"] = faster.name
                break
    plan.lower_bound = lower_bound(plan.buffers, plan.overlaps)
    plan.optimal = plan.optimal and plan.used_bytes <= plan.lower_bound
    check_placement(plan.buffers, plan.offsets, plan.used)
    assert all(plan.scratch(i) is None or plan.scratch(i)[1] == op_of(n).scratch_bytes(n, graph)  # type: ignore[index]
               for i, n in enumerate(graph.nodes))
    return plan, schedule


def _fit_scratch(plan: MemoryPlan, step: int, size: int, limit: int) -> bool:
    """Give node `step` `size` bytes of scratch if they fit beside what is live at that step without
    the arena passing `limit`; updates the plan in place."""
    name = plan.scratch_of.get(step, scratch_name(step))
    live = [b for b in plan.buffers if b.first <= step <= b.last and b.name != name and b.size]
    offset = 0
    if size:
        forbidden = [(plan.offsets[b.name] - size, plan.offsets[b.name] + b.size) for b in live]
        offset = _first_fit_offset(forbidden, 4)
        if _round_up(max(plan.used_bytes, offset + size)) > limit:
            return False
    plan.buffers = [b for b in plan.buffers if b.name != name]
    plan.offsets.pop(name, None)
    plan.scratch_of.pop(step, None)
    if size:
        plan.buffers.append(Buffer(name, size, step, step))
        plan.offsets[name] = offset
        plan.scratch_of[step] = name
    plan.used_bytes = max((plan.offsets[b.name] + b.size for b in plan.buffers), default=0)
    plan.arena_size = _round_up(plan.used_bytes)
    return True


def variant_choices(graph: Graph) -> list[Choice]:
    """The layers that have variants, with the one chosen and the fastest."""
    result = []
    for step, node in enumerate(graph.nodes):
        choices = op_of(node).variants(node, graph)
        if choices:
            chosen = next((v for v in choices if v.name == node.attrs.get("variant")), choices[0])
            result.append(Choice(step, node.name, chosen, choices[0]))
    return result
