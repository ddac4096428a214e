"""Buffers and their lifetimes, from a graph in execution order.

Step i is the execution of node i. A buffer is live from the step that writes it to the last
step that reads it, inclusive: a node's inputs and outputs are live at the same step, so they
must not share bytes -- unless the node's kernel says it may overwrite an input as it goes
(Op.in_place: its processing order reads every byte it still needs before a write reaches it).
Such an input buffer that dies at that step and the output buffer born there form an Overlap:
the output may start `delta` bytes below the input (exactly there, or anywhere lower when the
kernel's order is monotone), sharing the rest. Graph inputs are live from before step 0 and graph
outputs until after the last step, because they are copied in and out around the whole run.
Alias ops (reshape) share their input's buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..ir import BUFFER_ALIGNMENT, Graph
from ..ops import op_of


@dataclass(frozen=True)
class Buffer:
    name: str  # the tensor (or "<node>#scratch") it holds
    size: int  # bytes
    first: int  # first step it is live
    last: int  # last step it is live, inclusive
    alignment: int = BUFFER_ALIGNMENT

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class Overlap:
    """`target` (written at `step`) may share bytes with `source` (read for the last time there):
    target offset = source offset - delta (`exact`), or <= that (a monotone order: anything lower
    is safe too). delta < 0 lets the target start above the source's first byte."""

    source: str
    target: str
    delta: int
    exact: bool
    step: int
    input: int = 0  # index of the source among the node's inputs
    output: int = 0

    def saving(self, sizes: dict[str, int]) -> int:
        """Bytes the pair can share: the overlap when the target sits exactly `delta` below."""
        source, target = sizes[self.source], sizes[self.target]
        return max(0, min(source, target - self.delta) + min(0, self.delta))


@dataclass
class Liveness:
    buffers: list[Buffer]
    storage_of: dict[str, str]  # tensor -> the buffer holding it (aliases resolved)
    scratch_of: dict[int, str]  # node index -> its scratch buffer
    steps: int
    overlaps: list[Overlap] = field(default_factory=list)  # allowed in-place pairs
    storage_offset: dict[str, int] = field(default_factory=dict)  # tensor -> byte offset in its buffer


def scratch_name(index: int) -> str:
    return f"#scratch{index}"


def storage_layout(graph: Graph) -> tuple[dict[str, str], dict[str, int]]:
    """Activation tensor -> (the buffer holding it, its byte offset there): an alias op's output lies at
    its input's first byte, a view (Op.views: the row bands of patch-based execution) inside the tensor
    it is a view of; everything else in a buffer of its own at offset 0."""
    parent: dict[str, tuple[str, int]] = {}
    for node in graph.nodes:
        op = op_of(node)
        if op.is_alias:
            for out in node.outputs:
                parent[out] = (node.inputs[0], 0)
        parent.update(op.views(node, graph))
    storage_of: dict[str, str] = {}
    offset_of: dict[str, int] = {}

    def resolve(name: str) -> tuple[str, int]:
        if name not in storage_of:
            owner, offset = parent.get(name, (name, 0))
            if owner != name:
                root, base = resolve(owner)
                owner, offset = root, base + offset
            storage_of[name], offset_of[name] = owner, offset
        return storage_of[name], offset_of[name]

    for name in graph.inputs:
        resolve(name)
    for node in graph.nodes:
        for out in node.outputs:
            resolve(out)
    return storage_of, offset_of


def analyze(graph: Graph, in_place: bool = True) -> Liveness:
    """Buffers and lifetimes of the scheduled graph; with `in_place`, the overlaps its kernels allow."""
    storage_of, storage_offset = storage_layout(graph)
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
        size[buffer] = max(size.get(buffer, 0), storage_offset[tensor] + graph.tensors[tensor].nbytes)

    buffers = [Buffer(name, size[name], first[name], last[name]) for name in first]
    scratch_of: dict[int, str] = {}
    for step, node in enumerate(graph.nodes):
        scratch = op_of(node).scratch_bytes(node, graph)
        if scratch > 0:
            name = scratch_name(step)
            buffers.append(Buffer(name, scratch, step, step))
            scratch_of[step] = name
    overlaps = in_place_pairs(graph, storage_of, first, last) if in_place else []
    return Liveness(buffers, storage_of, scratch_of, end, overlaps, storage_offset)


def in_place_pairs(graph: Graph, storage_of: dict[str, str], first: dict[str, int],
                   last: dict[str, int]) -> list[Overlap]:
    """The overlaps the nodes' kernels allow, where the input buffer dies at the node (no later
    reader, not a graph output) and the output buffer is born there."""
    pinned = {storage_of[name] for name in graph.outputs}
    # A kernel's relation is about its own tensors; where one is a row band inside a larger map
    # (a view), the buffers' distance differs from the tensors', so such nodes get no pair.
    views = {name for node in graph.nodes for name in op_of(node).views(node, graph)}
    overlaps = []
    for step, node in enumerate(graph.nodes):
        op = op_of(node)
        if "stage_source" in node.attrs:  # a patched stage's output over its input (plan/patches.py)
            stage_in, stage_out = storage_of[node.attrs["stage_source"]], storage_of[node.outputs[0]]
            if stage_in not in pinned and last[stage_in] <= step and stage_in != stage_out:
                overlaps.append(Overlap(stage_in, stage_out, node.attrs["stage_delta"], False, step))
        if op.is_alias or op.views(node, graph):
            continue
        for rule in op.in_place(node, graph):
            source = storage_of.get(node.inputs[rule.input])
            target = storage_of.get(node.outputs[rule.output])
            if node.inputs[rule.input] in views or node.outputs[rule.output] in views:
                continue
            if (source is None or target is None or source == target or source in pinned
                    or last[source] != step or first[target] != step
                    or [storage_of.get(name) for name in node.inputs].count(source) != 1):
                continue
            overlaps.append(Overlap(source, target, rule.delta, rule.exact, step, rule.input, rule.output))
    return overlaps


def live_bytes_per_step(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> dict[int, int]:
    """Sum of the sizes of the buffers live at each step, less what in-place pairs can share there
    (pairs with disjoint buffers, largest sharing first)."""
    steps: dict[int, int] = {}
    for buffer in buffers:
        for step in range(buffer.first, buffer.last + 1):
            steps[step] = steps.get(step, 0) + buffer.size
    if overlaps:
        for step, saving in sharing_per_step(buffers, overlaps).items():
            steps[step] -= saving
    return steps


def sharing_per_step(buffers: list[Buffer], overlaps: Sequence[Overlap]) -> dict[int, int]:
    """Per step, the bytes in-place pairs live there can share (each buffer in one pair at most)."""
    spans = {b.name: (b.first, b.last) for b in buffers}
    sizes = {b.name: b.size for b in buffers}
    per_step: dict[int, list[Overlap]] = {}
    for overlap in overlaps:
        start = max(spans[overlap.source][0], spans[overlap.target][0])
        end = min(spans[overlap.source][1], spans[overlap.target][1])
        for step in range(start, end + 1):
            per_step.setdefault(step, []).append(overlap)
    result = {}
    for step, pairs in per_step.items():
        used: set[str] = set()
        total = 0
        for overlap in sorted(pairs, key=lambda o: (-o.saving(sizes), o.source, o.target)):
            if overlap.source not in used and overlap.target not in used:
                used.update((overlap.source, overlap.target))
                total += overlap.saving(sizes)
        result[step] = total
    return result


def live_buffers_per_step(buffers: list[Buffer]) -> dict[int, list[Buffer]]:
    """The buffers live at each step (from -1, the graph inputs, to the graph outputs' step), largest first."""
    steps: dict[int, list[Buffer]] = {}
    for buffer in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        for step in range(buffer.first, buffer.last + 1):
            steps.setdefault(step, []).append(buffer)
    return dict(sorted(steps.items()))


def peak_step(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> int | None:
    """The first step whose live set is the largest (the step that sets the lower bound)."""
    per_step = live_bytes_per_step(buffers, overlaps)
    if not per_step:
        return None
    return min(per_step, key=lambda step: (-per_step[step], step))


def lower_bound(buffers: list[Buffer], overlaps: Sequence[Overlap] = ()) -> int:
    """No placement of these lifetimes can use fewer bytes than the largest live set (less what the
    in-place pairs live at that step may share)."""
    per_step = live_bytes_per_step(buffers, overlaps)
    return max(per_step.values(), default=0)
