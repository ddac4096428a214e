"""Which kernel variant each layer runs: speed against RAM, one decision per layer.

The DSP kernel variants decide how they work from the scratch they are given: the convolutions widen
8 output pixels' taps at a time, or 4 with less scratch; the fully connected layers widen the input
row to int16 once, or, without scratch, widen each chunk of it as they go. Each Op lists its kernels
(Op.kernels: function, mode, scratch bytes, estimated extra instructions), fastest first. Scratch lives
in the arena, so at the step that sets the arena's size a faster variant costs RAM, and anywhere else
it is free. The rule (docs/DESIGN.md, "Kernel variants: RAM first"):

  * RAM first: every layer starts with its variant of least scratch; the schedule and the plan are
    made with those, giving the smallest arena the kernels allow (the lower bound for that schedule
    included, the in-place relations used).
  * Then speed where it costs no RAM: layers move to faster variants, the largest estimated saving
    first, wherever the larger scratch still fits in that arena at its step -- or, with a RAM budget
    (--ram-budget BYTES), within the budget: a budget above the smallest arena buys speed.

The choice is recorded in node.attrs["variant"] (the Kernel's key, so it travels with the stored graph),
reported by `tinygen report` and the compile summary with its estimated cost, and measured by
`tinygen bench`. plan/driver.py runs these steps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import progress
from ..ir import BUFFER_ALIGNMENT, Graph, Node
from ..ops import Kernel, op_of
from .algorithms import first_fit_offset
from .liveness import Buffer, lower_bound, scratch_name
from .planner import MemoryPlan, arena_bytes, check_placement, within

RULES = ("ram", "speed", "given")


@dataclass(frozen=True)
class Choice:
    step: int
    node: str
    kernel: Kernel  # the one chosen
    fastest: Kernel  # the fastest that applies
    scratch: int  # bytes the chosen one needs
    extra_instructions: int  # its estimated cost beyond the fastest


def assign_variants(graph: Graph, rule: str) -> dict[int, list[Kernel]]:
    """Set each layer's starting kernel by `rule`: "ram" (least scratch), "speed" (the fastest) or "given"
    (as node.attrs["variant"] says, the fastest where it says nothing: tests pin variants so). Returns
    every node's candidates by id(node)."""
    options = {id(node): op_of(node).candidates(node, graph) for node in graph.nodes}
    for node in graph.nodes:
        choices = options[id(node)]
        if len(choices) < 2:
            continue
        if rule == "given":
            chosen = next((k for k in choices if k.key == node.attrs.get("variant")), choices[0])
        elif rule == "speed":
            chosen = choices[0]
        else:
            chosen = min(choices, key=lambda k: k.scratch(node, graph))
        node.attrs["variant"] = chosen.key
    return options


def _current(node: Node, graph: Graph, choices: list[Kernel]) -> Kernel | None:
    return next((k for k in choices if k.key == node.attrs.get("variant")), None)


def buy_speed(graph: Graph, plan: MemoryPlan, options: dict[int, list[Kernel]], limit: int,
              report: bool = False) -> MemoryPlan:
    """Move layers to faster variants, the largest estimated saving first, wherever the larger scratch
    fits beside what is live at its step without the arena passing `limit`. Returns the new plan.
    `report`: a progress task, one step per layer tried."""
    upgrades = []
    for step, node in enumerate(graph.nodes):
        choices = options[id(node)]
        current = _current(node, graph, choices)
        if current is not None and current is not choices[0]:
            upgrades.append((-(current.cost(node, graph) - choices[0].cost(node, graph)), step))
    label = f"planning: kernel variant search ({len(upgrades)} layers could run faster)"
    with progress.task(label, len(upgrades) if report else 0) as advance:
        for _, step in sorted(upgrades):
            node = graph.nodes[step]
            choices = options[id(node)]
            current = _current(node, graph, choices)
            assert current is not None
            for faster in choices[:choices.index(current)]:  # fastest first
                fitted = _fit_scratch(plan, step, faster.scratch(node, graph), limit)
                if fitted is not None:
                    plan = fitted
                    node.attrs["variant"] = faster.key
                    break
            advance(1)
    bound = lower_bound(plan.buffers, plan.overlaps)
    plan = dataclasses.replace(plan, lower_bound=bound, optimal=plan.optimal and plan.used_bytes <= bound)
    check_placement(plan.buffers, plan.offsets, plan.used)
    for step, node in enumerate(graph.nodes):
        scratch = plan.scratch(step)
        assert scratch is None or scratch[1] == op_of(node).scratch_bytes(node, graph), node.name
    return plan


def _fit_scratch(plan: MemoryPlan, step: int, size: int, limit: int) -> MemoryPlan | None:
    """The plan with node `step` given `size` bytes of scratch, placed beside what is live at that step,
    or None if the arena would pass `limit`."""
    name = plan.scratch_of.get(step, scratch_name(step))
    live = [b for b in plan.buffers if b.first <= step <= b.last and b.name != name and b.size]
    offset = 0
    if size:
        forbidden = [(plan.offsets[b.name] - size, plan.offsets[b.name] + b.size) for b in live]
        offset = first_fit_offset(forbidden, BUFFER_ALIGNMENT)
        if not within(arena_bytes(max(plan.used_bytes, offset + size)), limit):
            return None
    buffers = [b for b in plan.buffers if b.name != name]
    offsets = {key: value for key, value in plan.offsets.items() if key != name}
    scratch_of = {key: value for key, value in plan.scratch_of.items() if key != step}
    if size:
        buffers.append(Buffer(name, size, step, step))
        offsets[name] = offset
        scratch_of[step] = name
    used = max((offsets[b.name] + b.size for b in buffers), default=0)
    return dataclasses.replace(plan, buffers=buffers, offsets=offsets, scratch_of=scratch_of, used_bytes=used,
                               arena_size=arena_bytes(used))


def variant_choices(graph: Graph) -> list[Choice]:
    """The layers that have several kernels to choose from, with the one chosen and the fastest."""
    result = []
    for step, node in enumerate(graph.nodes):
        op = op_of(node)
        choices = op.candidates(node, graph)
        if len(choices) > 1:
            chosen = op.kernel(node, graph)
            assert chosen is not None
            result.append(Choice(step, node.name, chosen, choices[0], chosen.scratch(node, graph),
                                 chosen.cost(node, graph) - choices[0].cost(node, graph)))
    return result
