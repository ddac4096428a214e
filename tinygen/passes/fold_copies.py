"""Compose consecutive data movements into one, and run contiguous ones as views.

Every op that only moves the values of its one input declares its index map (Op.index_map: the input
element of each output element). Two such nodes in a row, the first feeding only the second, compute the
composed map `first[second]`; they become one node (ops/copy.py movement_node) when that runs at least as
cheaply: an alias, a strided copy, or a table copy no larger than a table already there. ShuffleNet's
channel shuffle (Reshape to [N, g, C/g, H, W], Transpose(0, 2, 1, 3, 4), Reshape back), which tinygen's
channels-last storage turns into three copies, becomes one copy of three axes; a Transpose that undoes the
layout change of a Reshape disappears.

Last, a copy that reads one contiguous run starting at a 4-byte boundary becomes a view inside its input's
buffer (`slice_view`, no code), unless its output is a model output. In a quantized model a movement whose
output was given other parameters than its input's keeps its requantization: such pairs are not composed.
"""

from __future__ import annotations

from ..ir import Graph, Node
from ..ops import op_of
from ..ops.copy import VIEW_ALIGNMENT, contiguous_start, movement_node
from .util import sole_consumer


def _table_size(node: Node) -> int:
    return len(node.attrs["table"]) if node.op == "gather" else 0


def _same_quant(graph: Graph, a: str, b: str) -> bool:
    qa, qb = graph.tensors[a].quant, graph.tensors[b].quant
    return qb is None or qb.same_as(qa)


def _compose_once(graph: Graph) -> bool:
    for second in graph.nodes:
        second_map = op_of(second).index_map(second, graph)
        if second_map is None or not second.inputs or graph.tensors[second.inputs[0]].is_constant:
            continue
        first = graph.producer(second.inputs[0])
        if first is None or sole_consumer(graph, second.inputs[0]) is not second:
            continue
        first_map = op_of(first).index_map(first, graph)
        if first_map is None or not _same_quant(graph, first.inputs[0], first.outputs[0]):
            continue
        if first.op == "reshape" and second.op == "reshape":
            continue  # two aliases: already free
        merged = movement_node(graph, second.name, first.inputs[0], second.outputs[0], first_map[second_map])
        if merged.op == "gather" and _table_size(merged) > max(_table_size(first), _table_size(second)):
            continue
        graph.nodes[graph.nodes.index(second)] = merged
        graph.remove_node(first)
        return True
    return False


def _views(graph: Graph) -> int:
    count = 0
    for index, node in enumerate(graph.nodes):
        if node.op != "copy" or graph.is_graph_output(node.outputs[0]):
            continue
        index_map = op_of(node).index_map(node, graph)
        assert index_map is not None
        start = contiguous_start(index_map)
        if start is None or start % VIEW_ALIGNMENT:
            continue
        graph.nodes[index] = Node(node.name, "slice_view", list(node.inputs), list(node.outputs), {"offset": start})
        count += 1
    return count


def _drop_identities(graph: Graph) -> int:
    """A reshape to the same shape (an identity Gather or Slice): its output is its input."""
    count = 0
    for node in list(graph.nodes):
        if node.op != "reshape" or graph.is_graph_output(node.outputs[0]):
            continue
        source, target = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
        if source.shape == target.shape and source.layout is target.layout and _same_quant(graph, source.name,
                                                                                           target.name):
            graph.replace_uses(target.name, source.name)
            graph.remove_node(node)
            count += 1
    return count


def run(graph: Graph) -> int:
    folded = 0
    while _compose_once(graph):
        folded += 1
    return folded + _drop_identities(graph) + _views(graph)
