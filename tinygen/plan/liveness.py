"""Buffers and their lifetimes, from a graph in execution order.

Step i is the execution of node i. A buffer is live from the step that writes it to the last
step that reads it, inclusive: a node's inputs and outputs are live at the same step, so they
never share bytes (in-place execution is a separate, explicit decision). Graph inputs are live
from before step 0 and graph outputs until after the last step, because they are copied in and
out around the whole run. Alias ops (reshape) share their input's buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from ..ops import op_of

ALIGNMENT = 4  # bytes; kernels may read activations and scratch as int32


@dataclass(frozen=True)
class Buffer:
    name: str  # the tensor (or "<node>#scratch") it holds
    size: int  # bytes
    first: int  # first step it is live
    last: int  # last step it is live, inclusive
    alignment: int = ALIGNMENT

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class Liveness:
    buffers: list[Buffer]
    storage_of: dict[str, str]  # tensor -> the buffer holding it (aliases resolved)
    scratch_of: dict[int, str]  # node index -> its scratch buffer
    steps: int


def scratch_name(index: int) -> str:
    return f"#scratch{index}"


def storage_map(graph: Graph) -> dict[str, str]:
    """Activation tensor -> the buffer that holds it: itself, or for an alias op its input's buffer."""
    storage_of: dict[str, str] = {}
    for name in graph.inputs:
        storage_of[name] = name
    for node in graph.nodes:
        op = op_of(node)
        for out in node.outputs:
            storage_of[out] = storage_of[node.inputs[0]] if op.is_alias else out
    return storage_of


def analyze(graph: Graph) -> Liveness:
    storage_of = storage_map(graph)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    size: dict[str, int] = {}

    def touch(buffer: str, step: int) -> None:
        first[buffer] = min(first.get(buffer, step), step)
        last[buffer] = max(last.get(buffer, step), step)

    for name in graph.inputs:
        touch(storage_of[name], -1)
    for step, node in enumerate(graph.nodes):
        for name in [*node.inputs, *node.outputs]:
            if name in storage_of:
                touch(storage_of[name], step)
    end = len(graph.nodes)
    for name in graph.outputs:
        touch(storage_of[name], end)
    for tensor, buffer in storage_of.items():
        size[buffer] = max(size.get(buffer, 0), graph.tensors[tensor].nbytes)

    buffers = [Buffer(name, size[name], first[name], last[name]) for name in first]
    scratch_of: dict[int, str] = {}
    for step, node in enumerate(graph.nodes):
        scratch = op_of(node).scratch_bytes(node, graph)
        if scratch > 0:
            name = scratch_name(step)
            buffers.append(Buffer(name, scratch, step, step))
            scratch_of[step] = name
    return Liveness(buffers, storage_of, scratch_of, end)


def live_bytes_per_step(buffers: list[Buffer]) -> dict[int, int]:
    """Sum of the sizes of the buffers live at each step."""
    steps: dict[int, int] = {}
    for buffer in buffers:
        for step in range(buffer.first, buffer.last + 1):
            steps[step] = steps.get(step, 0) + buffer.size
    return steps


def live_buffers_per_step(buffers: list[Buffer]) -> dict[int, list[Buffer]]:
    """The buffers live at each step (from -1, the graph inputs, to the graph outputs' step), largest first."""
    steps: dict[int, list[Buffer]] = {}
    for buffer in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        for step in range(buffer.first, buffer.last + 1):
            steps.setdefault(step, []).append(buffer)
    return dict(sorted(steps.items()))


def peak_step(buffers: list[Buffer]) -> int | None:
    """The first step whose live set is the largest (the step that sets the lower bound)."""
    per_step = live_bytes_per_step(buffers)
    if not per_step:
        return None
    return min(per_step, key=lambda step: (-per_step[step], step))


def lower_bound(buffers: list[Buffer]) -> int:
    """No placement of these lifetimes can use fewer bytes than the largest live set."""
    per_step = live_bytes_per_step(buffers)
    return max(per_step.values(), default=0)
