"""The scheduling pass: run the graph's nodes in the topological order with the smallest peak.

The arena can never be smaller than the largest set of tensors live at one step, and that set
depends on the order: in a residual block, computing the long branch before the shortcut keeps
the block's input alive longer than the other way round. This pass picks the order with the
smallest such peak and reorders graph.nodes in place; everything downstream (planning, the
generated C, the golden reference) follows graph.nodes, so every producer still runs before its
consumers.

The memory model is liveness.py's: a buffer (a tensor, or the storage an alias shares) is live
from the step that writes it to the last step that reads it; a node's inputs, outputs and scratch
are live together, except that an output may share bytes with an input its kernel overwrites in
place (Op.in_place) when that input dies at the node -- which depends on the order, so the model
counts the sharing only where the node is the input's last reader; graph inputs are live before
the first step and graph outputs after the last.

Exact for graphs whose sets of "nodes run so far" (the downsets of the dependency order: a chain
has n + 1 of them, each residual block multiplies a stretch of it by its branch lengths) number at
most STATE_BUDGET: the live bytes after a set of nodes does not depend on the order they ran in,
so a dynamic program over those sets finds the smallest peak, and a walk that prefers the original
order among optimal choices keeps the graph as it was whenever it is already optimal. Larger
graphs get a beam search over the same states, and keep their original order unless the beam
finds a strictly smaller peak.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from ..ops import op_of
from .liveness import storage_layout

STATE_BUDGET = 20_000  # downsets the exact search may enumerate
BEAM_WIDTH = 64  # states kept per step by the heuristic


@dataclass
class Schedule:
    order: list[int]  # the chosen order, as indices into graph.nodes before the pass
    peak: int  # largest live set of the chosen order (the planner's lower bound)
    original_peak: int  # the same for the order the graph had
    exact: bool  # no topological order has a smaller peak
    states: int  # search states visited

    @property
    def changed(self) -> bool:
        return self.order != sorted(self.order)


class _Model:
    """The graph reduced to what the peak depends on: dependencies and buffer sizes per node."""

    def __init__(self, graph: Graph, in_place: bool = True):
        nodes = graph.nodes
        self.n = len(nodes)
        storage_of, storage_offset = storage_layout(graph)
        produced_by: dict[str, int] = {}
        for index, node in enumerate(nodes):
            for name in node.outputs:
                produced_by[name] = index
        self.deps = [0] * self.n  # bit mask of the nodes each node reads from
        self._ready: dict[int, list[int]] = {}  # downset -> the nodes ready after it (ready())
        size: dict[str, int] = {}
        consumers: dict[str, int] = {}  # buffer -> bit mask of the nodes reading it
        created: list[list[str]] = [[] for _ in nodes]  # buffers each node writes first
        for name, buffer in storage_of.items():
            size[buffer] = max(size.get(buffer, 0), storage_offset[name] + graph.tensors[name].nbytes)
        writers: dict[str, int] = {}  # buffer -> the first node (in this order) writing into it
        for index, node in enumerate(nodes):
            for name in node.inputs:
                if name in storage_of:
                    consumers[storage_of[name]] = consumers.get(storage_of[name], 0) | 1 << index
                    if name in produced_by:
                        self.deps[index] |= 1 << produced_by[name]
            after = node.attrs.get("after")  # an order the graph asks for (the bands of a patched stage)
            if after in produced_by:
                self.deps[index] |= 1 << produced_by[after]
            for name in node.outputs:
                writers.setdefault(storage_of[name], index)
        self.successors: list[list[int]] = [[] for _ in nodes]  # the nodes each node's outputs feed (deps)
        for w, mask in enumerate(self.deps):
            while mask:
                low = mask & -mask
                self.successors[low.bit_length() - 1].append(w)
                mask ^= low
        for buffer, index in writers.items():
            if buffer not in graph.inputs:
                created[index].append(buffer)
        pinned = {storage_of[name] for name in graph.outputs}
        # Bytes a node adds while it runs (new buffers and scratch), and what stays after it.
        self.step_bytes = [sum(size[b] for b in created[i]) + op_of(node).scratch_bytes(node, graph)
                           for i, node in enumerate(nodes)]
        self.kept_bytes = [sum(size[b] for b in created[i] if b in pinned or consumers.get(b, 0))
                           for i in range(self.n)]
        # Buffers a node reads, with who reads them, so the last reader can free them.
        self.reads = [[(consumers[b], size[b]) for b in dict.fromkeys(storage_of[name] for name in node.inputs
                                                                      if name in storage_of)
                       if b not in pinned] for node in nodes]
        # In-place pairs: (readers of the input buffer, bytes shared) when the node is its last reader.
        self.shares: list[list[tuple[int, int]]] = [[] for _ in nodes]
        for index, node in enumerate(nodes):
            op = op_of(node)
            if not in_place or op.is_alias:
                continue
            for rule in op.in_place(node, graph):
                source = storage_of.get(node.inputs[rule.input])
                target = storage_of.get(node.outputs[rule.output])
                if source is None or target != node.outputs[rule.output] or source in pinned:
                    continue
                shared = max(0, min(size[source], size[target] - rule.delta) + min(0, rule.delta))
                if shared:
                    self.shares[index].append((consumers[source], shared))
        inputs = list(dict.fromkeys(storage_of[name] for name in graph.inputs))
        self.before = sum(size[b] for b in inputs)  # step -1: the inputs are copied in
        self.after = sum(size[b] for b in dict.fromkeys(storage_of[name] for name in graph.outputs))
        self.live0 = sum(size[b] for b in inputs if b in pinned or consumers.get(b, 0))

    def ready(self, done: int) -> list[int]:
        """The nodes that may run after the set `done`, in index order. Derived from the set it grew from
        (the nodes ready there, less the one that ran, plus its successors whose inputs are all done) and
        remembered, so a chain of n nodes costs O(n) here rather than O(n^2)."""
        known = self._ready.get(done)
        if known is not None:
            return known
        result = [v for v in range(self.n) if not done >> v & 1 and self.deps[v] & ~done == 0]
        self._ready[done] = result
        return result

    def ready_after(self, done: int, v: int) -> list[int]:
        """ready(done | 1 << v), from ready(done)."""
        after = done | 1 << v
        known = self._ready.get(after)
        if known is None:
            grown = [w for w in self.successors[v] if self.deps[w] & ~after == 0 and not after >> w & 1]
            known = sorted([w for w in self.ready(done) if w != v] + grown)
            self._ready[after] = known
        return known

    def step_peak(self, done: int, live: int, v: int) -> int:
        """Bytes live while v runs, given `live` bytes after the set `done`."""
        after = done | 1 << v
        shared = max((saving for readers, saving in self.shares[v] if readers & ~after == 0), default=0)
        return live + self.step_bytes[v] - shared

    def live_after(self, done: int, live: int, v: int) -> int:
        """Live bytes after running v, given `live` bytes after the set `done`."""
        after = done | 1 << v
        freed = sum(size for readers, size in self.reads[v] if readers & ~after == 0)
        return live + self.kept_bytes[v] - freed

    def peak_of(self, order: list[int]) -> int:
        done, live, peak = 0, self.live0, max(self.before, self.after)
        for v in order:
            peak = max(peak, self.step_peak(done, live, v))
            live = self.live_after(done, live, v)
            done |= 1 << v
        return peak


def best_order(graph: Graph, *, state_budget: int = STATE_BUDGET, beam_width: int = BEAM_WIDTH,
               in_place: bool = True) -> Schedule:
    """The order of graph.nodes with the smallest peak (exact within the state budget); no change to graph."""
    model = _Model(graph, in_place)
    original = list(range(model.n))
    original_peak = model.peak_of(original)
    exact = _exact(model, state_budget)
    if exact is not None:
        order, states = exact
        return Schedule(order, model.peak_of(order), original_peak, True, states)
    order, states = _beam(model, beam_width)
    peak = model.peak_of(order)
    if peak >= original_peak:
        order, peak = original, original_peak
    return Schedule(order, peak, original_peak, False, states)


def schedule_nodes(graph: Graph, **options: int | bool) -> Schedule:
    """The pass: reorder graph.nodes into the order with the smallest peak; returns what it chose."""
    schedule = best_order(graph, **options)  # type: ignore[arg-type]
    graph.nodes = [graph.nodes[i] for i in schedule.order]
    return schedule


def _exact(model: _Model, state_budget: int) -> tuple[list[int], int] | None:
    """Dynamic programming over the downsets; None when there are more than `state_budget`."""
    live = {0: model.live0}
    levels: list[list[int]] = [[0]]
    for _ in range(model.n):
        level: list[int] = []
        for done in levels[-1]:
            for v in model.ready(done):
                after = done | 1 << v
                if after not in live:
                    live[after] = model.live_after(done, live[done], v)
                    model.ready_after(done, v)
                    level.append(after)
                    if len(live) > state_budget:
                        return None
        levels.append(level)
    # togo[S]: the smallest peak over the steps still to run after S (with the outputs copied out,
    # and the inputs copied in, which no order changes: an order is as good as another below them).
    full = (1 << model.n) - 1
    togo = {full: max(model.before, model.after)}
    for level in reversed(levels[:-1]):
        for done in level:
            togo[done] = min(max(model.step_peak(done, live[done], v), togo[done | 1 << v]) for v in model.ready(done))
    # Walk forward, taking the lowest original index that keeps the optimum.
    order: list[int] = []
    done = 0
    while done != full:
        for v in model.ready(done):
            if max(model.step_peak(done, live[done], v), togo[done | 1 << v]) == togo[done]:
                order.append(v)
                done |= 1 << v
                break
    return order, len(live)


def _beam(model: _Model, width: int) -> tuple[list[int], int]:
    """Keep the `width` most promising partial orders per step: smallest peak so far, then fewest
    bytes live, then closest to the original order."""
    beam: list[tuple[int, int, tuple[int, ...], int]] = [(0, model.live0, (), 0)]  # peak, live, order, done
    states = 1
    for _ in range(model.n):
        candidates: dict[int, tuple[int, int, tuple[int, ...], int]] = {}
        for peak, live, order, done in beam:
            for v in model.ready(done):
                after = done | 1 << v
                state = (max(peak, model.step_peak(done, live, v)), model.live_after(done, live, v), (*order, v), after)
                if after not in candidates or state < candidates[after]:
                    candidates[after] = state
                    model.ready_after(done, v)
        states += len(candidates)
        beam = sorted(candidates.values())[:width]
    return list(beam[0][2]), states
