"""Split the first layers of a network into row bands (patch-based execution, MCUNetV2): a pass on the
int8 IR that the planning driver runs when the search in plan/patches.py chose a stage and a band count.

A stage is a chain of patchable layers (Op.patchable) from a feature map X (typically the graph input)
to a map T. Its output T is cut into bands of rows; for each band, working backwards through the stage,
every layer computes only the rows the next one needs: rows [lo, hi) of its output read rows
[lo * S - P_top, (hi - 1) * S - P_top + (K - 1) * D + 1) of its input, clipped to the map, and the
clipped part becomes the band's own top or bottom padding (interior bands have none: their halo rows
are real data). Every band computes exactly the rows of the unpatched layers, so the outputs are
bit-identical.

In the graph a band is ordinary layers between views (ops/patches.py): `row_slice` names the band's
input rows inside X, and `row_concat` names the bands' outputs as the rows of T, so the last layer of a
band writes straight into T and nothing is copied. The bands run in order (node.attrs["after"]); T may
overlap X (row_concat's "stage_source"/"stage_delta": band b writes its rows of T only after reading its
rows of X, so T may start `delta` bytes below X, the monotone rule of ops/orders.py applied to bands).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..ir import Graph, Node, Tensor, align_up
from ..ops import op_of
from ..ops.patches import row_bytes


@dataclass
class PatchPlan:
    layers: list[str]  # names of the stage's nodes (as in the source model)
    bands: int
    source: str  # X
    output: str  # T
    macs: int  # of the stage, unpatched
    patched_macs: int  # of all its bands

    @property
    def extra_macs(self) -> int:
        return self.patched_macs - self.macs

    def to_json(self) -> dict:
        return {"layers": self.layers, "bands": self.bands, "source": self.source, "output": self.output,
                "macs": self.macs, "patched_macs": self.patched_macs, "extra_macs": self.extra_macs}


def stage_candidates(graph: Graph) -> list[list[Node]]:
    """Chains of patchable layers starting at a graph input, longest last: [n0], [n0, n1], ..."""
    result = []
    for name in graph.inputs:
        chain: list[Node] = []
        current = name
        while True:
            consumers = graph.consumers(current)
            if len(consumers) != 1 or graph.is_graph_output(current):
                break
            node = consumers[0]
            if (not op_of(node).patchable or node.inputs[0] != current or "residual" in node.params
                    or len(graph.tensors[current].shape) != 4 or len(graph.tensors[node.outputs[0]].shape) != 4):
                break
            chain.append(node)
            result.append(list(chain))
            current = node.outputs[0]
    return result


def _input_rows(node: Node, rows: tuple[int, int], in_height: int) -> tuple[tuple[int, int], int, int]:
    """Input rows [lo, hi) that output rows `rows` of `node` read, and the band's top and bottom padding."""
    first, last = rows
    if node.op == "lut":
        return rows, 0, 0
    (kh, _), (sh, _), (dh, _) = node.attrs["kernel"], node.attrs["stride"], node.attrs["dilation"]
    lo = first * sh - node.attrs["pads"][0]
    hi = (last - 1) * sh - node.attrs["pads"][0] + (kh - 1) * dh + 1
    clipped = (max(0, lo), min(in_height, hi))
    return clipped, clipped[0] - lo, hi - clipped[1]


def _band_rows(height: int, bands: int) -> list[tuple[int, int]]:
    edges = [round(b * height / bands) for b in range(bands + 1)]
    return [(edges[b], edges[b + 1]) for b in range(bands) if edges[b + 1] > edges[b]]


def split_stage(graph: Graph, stage: list[Node], bands: int) -> PatchPlan:
    """Rewrite `graph` in place: the chain `stage` runs in `bands` row bands of its output."""
    source, output = stage[0].inputs[0], stage[-1].outputs[0]
    macs = sum(op_of(node).macs(node, graph) for node in stage)
    heights = [graph.tensors[node.inputs[0]].shape[1] for node in stage]
    position = graph.nodes.index(stage[0])
    new_nodes: list[Node] = []
    band_outputs: list[str] = []
    reads: list[int] = []  # first row of X each band reads
    writes: list[int] = []  # last row (exclusive) of T each band writes
    previous: str | None = None
    for b, rows in enumerate(_band_rows(graph.tensors[output].shape[1], bands)):
        # Backwards: the output rows each layer of the band computes, with its padding.
        plans: list[tuple[tuple[int, int], tuple[int, int], int, int]] = []  # (out rows, in rows, top, bottom)
        out_rows = rows
        for node, height in zip(reversed(stage), reversed(heights), strict=True):
            in_rows, top, bottom = _input_rows(node, out_rows, height)
            plans.append((out_rows, in_rows, top, bottom))
            out_rows = in_rows
        plans.reverse()
        reads.append(plans[0][1][0])
        writes.append(rows[1])
        band_input = graph.unique_name(f"{source}#band{b}")
        _add_rows_tensor(graph, source, band_input, plans[0][1])
        slice_node = Node(f"{stage[0].name}#band{b}/rows", "row_slice", [source], [band_input],
                          {"row": plans[0][1][0]})
        if previous is not None:
            slice_node.attrs["after"] = previous  # the bands run in order
        new_nodes.append(slice_node)
        current = band_input
        for index, (node, (out_rows, _, top, bottom)) in enumerate(zip(stage, plans, strict=True)):
            last = index == len(stage) - 1
            name = graph.unique_name(f"{node.outputs[0]}#band{b}")
            _add_rows_tensor(graph, node.outputs[0], name, out_rows)
            attrs = copy.deepcopy(node.attrs)
            if "pads" in attrs:
                attrs["pads"] = [top, attrs["pads"][1], bottom, attrs["pads"][3]]
            attrs["patch"] = {"band": b, "bands": bands, "rows": list(out_rows)}
            new_nodes.append(Node(f"{node.name}#band{b}", node.op, [current, *node.inputs[1:]], [name], attrs,
                                  node.params))
            current = name
            if last:
                band_outputs.append(name)
                previous = name
    concat = Node(f"{stage[-1].name}#rows", "row_concat", band_outputs, [output], {})
    if len(stage) > 1:
        # T may start `delta` bytes below X: a band's first layer has read all its rows of X (from
        # reads[b] on) before its last layer writes T's rows (up to writes[b]), so each band is one
        # step of the monotone rule (ops/orders.py). A one-layer stage reads and writes pixel by
        # pixel in the same kernel call: no such step, no overlap.
        x_row, t_row = row_bytes(graph, source), row_bytes(graph, output)
        delta = max((writes[b] * t_row - reads[b + 1] * x_row for b in range(len(writes) - 1)), default=0)
        concat.attrs.update({"stage_source": source, "stage_delta": align_up(delta)})
    new_nodes.append(concat)
    for node in stage:
        graph.nodes.remove(node)
    graph.nodes[position:position] = new_nodes
    graph.remove_unused_tensors()
    patched = sum(op_of(node).macs(node, graph) for node in new_nodes)
    plan = PatchPlan([node.name for node in stage], len(band_outputs), source, output, macs, patched)
    concat.attrs["patches"] = plan.to_json()  # for the report and the manifest
    return plan


def run(graph: Graph, layers: int, bands: int) -> PatchPlan:
    """Patch the stage of `layers` layers from the graph input into `bands` row bands."""
    return split_stage(graph, stage_candidates(graph)[layers - 1], bands)


def _add_rows_tensor(graph: Graph, like: str, name: str, rows: tuple[int, int]) -> None:
    model = graph.tensors[like]
    n, _, w, c = model.shape
    graph.add_tensor(Tensor(name, (n, rows[1] - rows[0], w, c), model.dtype, quant=model.quant,
                            layout=model.layout))
