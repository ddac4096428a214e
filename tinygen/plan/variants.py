"""Which kernel variant each layer runs: speed against RAM, one decision per layer.

The DSP kernel variants decide how they work from the scratch they are given: the convolutions widen
8 output pixels' taps at a time, or 4 with less scratch; the fully connected layers widen the input
row to int16 once, or, without scratch, widen each chunk of it as they go. Each Op lists its kernels
(Op.kernels: function, mode, scratch bytes). Which is faster is the cost model's estimate of Cortex-M4
cycles (plan/costs.py, fitted to per-layer measurements), not instruction counts -- where the model's
formulas were fitted on enough layers to rank the kernels (costs.comparable), else the table's order.
Scratch lives in the arena, so at the step that sets the arena's size a faster variant costs RAM, and
anywhere else it is free. The rule (docs/DESIGN.md, "Kernel variants: RAM first"):

  * RAM first: every layer starts with its variant of least scratch (the fewest estimated cycles among
    equals); the schedule and the plan are made with those, giving the smallest arena the kernels allow
    (the lower bound for that schedule included, the in-place relations used).
  * Then speed where it costs no RAM: layers move to variants with fewer estimated cycles, the largest
    estimated saving first, wherever the larger scratch still fits in that arena at its step -- or, with a
    RAM budget (--ram-budget BYTES), within the budget: a budget above the smallest arena buys speed. A
    variant with more scratch and more estimated cycles is never taken (the AD autoencoder's widened-input
    fully connected layers: fewer instructions, more cycles than the scratch-free direct ones).

The choice is recorded in node.attrs["variant"] (the Kernel's key, so it travels with the stored graph),
reported by `tinygen report` and the compile summary with its estimated cost, and measured by
`tinygen bench`. plan/driver.py runs these steps. The rules "smallest" and "largest" put every layer in
its variant of least / most scratch and buy nothing back: bench/fit_cycle_model.py measures both to fit
the cost model.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

from .. import progress
from ..ir import BUFFER_ALIGNMENT, Graph, Node
from ..ops import Kernel, op_of
from .algorithms import first_fit_offset
from .costs import comparable, extra_cycles, layer_cycles
from .liveness import Buffer, lower_bound, scratch_name
from .planner import MemoryPlan, arena_bytes, check_placement, within

RULES = ("ram", "speed", "given", "smallest", "largest")


@dataclass(frozen=True)
class Choice:
    step: int
    node: str
    kernel: Kernel  # the one chosen
    fastest: Kernel  # the one with the fewest estimated cycles
    scratch: int  # bytes the chosen one needs
    extra_instructions: int  # its estimated instructions beyond the fastest's (the kernel table's cost)
    extra_cycles: int  # its estimated cycles beyond the fastest's (plan/costs.py)


def by_speed(node: Node, graph: Graph, choices: list[Kernel]) -> list[Kernel]:
    """The kernels, fewest estimated cycles first (the table's order among equals, and where the fitted
    formulas cannot rank them: plan/costs.py comparable)."""
    if not comparable(choices):
        return sorted(choices, key=lambda k: k.cost(node, graph))
    return sorted(choices, key=lambda k: layer_cycles(node, graph, k))


def assign_variants(graph: Graph, rule: str) -> dict[int, list[Kernel]]:
    """Set each layer's starting kernel by `rule`: "ram" or "smallest" (least scratch), "largest" (most
    scratch), "speed" (the fewest estimated cycles) or "given" (as node.attrs["variant"] says, the table's
    first where it says nothing: tests pin variants so). Returns every node's candidates by id(node),
    fewest estimated cycles first."""
    options = {}
    for node in graph.nodes:
        choices = op_of(node).candidates(node, graph)
        if len(choices) > 1:
            choices = by_speed(node, graph, choices)
        options[id(node)] = choices
    for node in graph.nodes:
        choices = options[id(node)]
        if len(choices) < 2:
            continue
        if rule == "given":
            table = op_of(node).candidates(node, graph)
            chosen = next((k for k in choices if k.key == node.attrs.get("variant")), table[0])
        elif rule == "speed":
            chosen = choices[0]
        elif rule == "largest":
            chosen = max(choices, key=lambda k: k.scratch(node, graph))
        else:
            chosen = min(choices, key=lambda k: k.scratch(node, graph))
        node.attrs["variant"] = chosen.key
    return options


def _current(node: Node, graph: Graph, choices: list[Kernel]) -> Kernel | None:
    return next((k for k in choices if k.key == node.attrs.get("variant")), None)


def buy_speed(graph: Graph, plan: MemoryPlan, options: dict[int, list[Kernel]], limit: int,
              report: bool = False) -> MemoryPlan:
    """Move layers to variants with fewer estimated cycles, the largest estimated saving first, wherever the
    larger scratch fits beside what is live at its step without the arena passing `limit`. Returns the new
    plan. `options`: each node's candidates, fewest estimated cycles first (assign_variants); `report`: a
    progress task, one step per layer tried."""
    upgrades = []
    for step, node in enumerate(graph.nodes):
        choices = options[id(node)]
        current = _current(node, graph, choices)
        if current is not None and current is not choices[0]:
            saving = extra_cycles(node, graph, current, choices[0])
            if saving > 0:
                upgrades.append((-saving, step))
    if not upgrades:
        return plan
    # A scratch buffer lives at its own step only, so what a new one must keep clear of is the other
    # buffers live at that step, which no upgrade changes: found once, by one sweep.
    wanted = sorted(step for _, step in upgrades)
    scratch_names = set(plan.scratch_of.values())
    live_at: dict[int, list[Buffer]] = {step: [] for step in wanted}
    for b in plan.buffers:
        if b.size and b.name not in scratch_names:
            for step in wanted[bisect.bisect_left(wanted, b.first):bisect.bisect_right(wanted, b.last)]:
                live_at[step].append(b)
    buffers = {b.name: b for b in plan.buffers}
    offsets = dict(plan.offsets)
    scratch_of = dict(plan.scratch_of)
    used = plan.used_bytes
    label = f"planning: kernel variant search ({len(upgrades)} layers could run faster)"
    with progress.task(label, len(upgrades) if report else 0) as advance:
        for _, step in sorted(upgrades):
            node = graph.nodes[step]
            choices = options[id(node)]
            current = _current(node, graph, choices)
            assert current is not None
            for faster in choices[:choices.index(current)]:  # fewest estimated cycles first
                size = faster.scratch(node, graph)
                offset = 0
                if size:
                    forbidden = [(offsets[b.name] - size, offsets[b.name] + b.size) for b in live_at[step]]
                    offset = first_fit_offset(forbidden, BUFFER_ALIGNMENT)
                    if not within(arena_bytes(max(used, offset + size)), limit):
                        continue
                name = scratch_of.pop(step, scratch_name(step))
                old = buffers.pop(name, None)
                old_end = offsets.pop(name) + old.size if old is not None else 0
                if size:
                    buffers[name] = Buffer(name, size, step, step)
                    offsets[name] = offset
                    scratch_of[step] = name
                if old_end >= used:  # the old scratch was on top: the arena may have come down
                    used = max((offsets[b.name] + b.size for b in buffers.values()), default=0)
                used = max(used, offset + size)
                node.attrs["variant"] = faster.key
                break
            advance(1)
    ordered = list(buffers.values())
    used = max((offsets[b.name] + b.size for b in ordered), default=0)
    plan = dataclasses.replace(plan, buffers=ordered, offsets=offsets, scratch_of=scratch_of, used_bytes=used,
                               arena_size=arena_bytes(used))
    bound = lower_bound(plan.buffers, plan.overlaps)
    plan = dataclasses.replace(plan, lower_bound=bound, optimal=plan.optimal and plan.used_bytes <= bound)
    check_placement(plan.buffers, plan.offsets, plan.used)
    for step, node in enumerate(graph.nodes):
        scratch = plan.scratch(step)
        assert scratch is None or scratch[1] == op_of(node).scratch_bytes(node, graph), node.name
    return plan


def variant_choices(graph: Graph) -> list[Choice]:
    """The layers that have several kernels to choose from, with the one chosen and the fastest (by
    estimated cycles)."""
    result = []
    for step, node in enumerate(graph.nodes):
        op = op_of(node)
        choices = op.candidates(node, graph)
        if len(choices) > 1:
            chosen = op.kernel(node, graph)
            assert chosen is not None
            fastest = by_speed(node, graph, choices)[0]
            result.append(Choice(step, node.name, chosen, fastest, chosen.scratch(node, graph),
                                 chosen.cost(node, graph) - fastest.cost(node, graph),
                                 round(extra_cycles(node, graph, chosen, fastest))))
    return result
