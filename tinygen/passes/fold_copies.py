"""Compose consecutive data movements into one, and run contiguous ones as views.

Every op that only moves the values of its one input declares its index map (Op.index_map: the input
element of each output element). A movement read only by movements folds into each of them: a reader's map
composed with it, `first[reader]`, becomes one node (ops/copy.py movement_node) when that runs at least as
cheaply: an alias, a strided copy, or a table copy no larger than a table already there. The intermediate
tensor disappears, so the bytes moved only go down (ShuffleNet's shuffle read by the next unit's two
channel halves: two copies instead of three). ShuffleNet's
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
from ..ops.concat import ConcatOp, concat_form
from ..ops.copy import VIEW_ALIGNMENT, contiguous_start, movement_node
from .util import sole_consumer


def _table_size(node: Node) -> int:
    return len(node.attrs["table"]) if node.op == "gather" else 0


def _same_quant(graph: Graph, a: str, b: str) -> bool:
    qa, qb = graph.tensors[a].quant, graph.tensors[b].quant
    return qb is None or qb.same_as(qa)


def _compose_once(graph: Graph, shared: bool) -> bool:
    """Fold one movement into every node reading it, when all of them are movements (`shared`: also when
    there are several)."""
    for first in graph.nodes:
        first_map = op_of(first).index_map(first, graph)
        middle = first.outputs[0] if first.outputs else ""
        if first_map is None or graph.is_graph_output(middle) or not _same_quant(graph, first.inputs[0], middle):
            continue
        readers = graph.consumers(middle)
        if len(readers) > 1 and not shared:
            continue
        maps = [op_of(reader).index_map(reader, graph) for reader in readers]
        if not readers or any(m is None or reader.inputs != [middle] for m, reader in zip(maps, readers, strict=True)):
            continue
        if first.op == "reshape" and all(reader.op == "reshape" for reader in readers):
            continue  # aliases of aliases: already free
        merged = [movement_node(graph, reader.name, first.inputs[0], reader.outputs[0], first_map[m])
                  for reader, m in zip(readers, maps, strict=True) if m is not None]
        if any(node.op == "gather" and _table_size(node) > max(_table_size(first), _table_size(reader))
               for node, reader in zip(merged, readers, strict=True)):
            continue
        for reader, node in zip(readers, merged, strict=True):
            graph.nodes[graph.nodes.index(reader)] = node
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


def _into_concat(graph: Graph) -> int:
    """A movement that is a concat's only reader, when the two together are another concat (a channel concat
    then a channel shuffle: a concat of single elements taken in turn): the concat writes the moved order."""
    count = 0
    for node in list(graph.nodes):
        if node.op != "concat" or any(graph.tensors[n].is_constant for n in node.inputs):
            continue
        reader = sole_consumer(graph, node.outputs[0])
        reader_map = op_of(reader).index_map(reader, graph) if reader is not None else None
        if reader is None or reader_map is None or not _same_quant(graph, node.outputs[0], reader.outputs[0]):
            continue
        sizes = [graph.tensors[n].size for n in node.inputs]
        outer = concat_form(sizes, ConcatOp().source_map(node, graph)[reader_map])
        if outer is None:
            continue
        node.attrs["outer"] = outer
        node.outputs = list(reader.outputs)
        graph.remove_node(reader)
        count += 1
    return count


def run(graph: Graph) -> int:
    # Chains first (each movement read by one other), so that a whole shuffle is one map when it meets the
    # concat before it; then into concats; then movements read by several (the shuffle by the chunk halves).
    folded = 0
    while _compose_once(graph, shared=False):
        folded += 1
    folded += _into_concat(graph)
    while _compose_once(graph, shared=True):
        folded += 1
    folded += _into_concat(graph)
    return folded + _drop_identities(graph) + _views(graph)
