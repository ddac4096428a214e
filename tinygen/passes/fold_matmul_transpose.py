"""Fold data movements around a batch matmul into its addressing (ops/batch_matmul.py).

Attention moves its operands and result around: the heads' [B, T, H, D] -> [B, H, T, D] for Q, K and V
(often sliced out of one projection: PyTorch's qkv Linear, reshape to [B, T, 3, H, D], permute, take
0 / 1 / 2), K -> K^T for the scores, and [B, H, T, D] -> [B, T, H, D] after A V. Since Transpose, Slice
and Gather import as index maps (ops/copy.py: `copy`, `transpose`, `gather`, `slice_view`) and
passes/fold_copies.py has composed each chain into one, every such operand is one movement of one
tensor. The batch matmul reads each operand through element strides from a start element, and writes
its output through strides, so a movement whose only reader is the matmul folds when its map, seen
through the matmul's 4-D view, is affine: out[i0, i1, i2, i3] = in[start + sum_k i_k stride_k]
(non-negative strides). An output movement folds when it is a permutation of the product's elements
(same size) that is affine the same way. The folded movements disappear: no copy, no tensor in the
arena. Only where the moved tensor carries no quantization of its own (a QDQ model's parameters are
kept) and is not a graph output.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ops import op_of
from ..ops.batch_matmul import geometry, operand_shapes, positions
from .util import sole_consumer


def run(graph: Graph) -> int:
    folded = 0
    for node in list(graph.nodes):
        if node.op != "batch_matmul":
            continue
        for index, role in ((0, "lhs"), (1, "rhs")):
            folded += _fold_operand(graph, node, index, role)
        folded += _fold_output(graph, node)
    return folded


def _own_quantization(graph: Graph, tensor: str, source: str) -> bool:
    quant, original = graph.tensors[tensor].quant, graph.tensors[source].quant
    return quant is not None and quant != original


def affine(index: np.ndarray) -> tuple[int, list[int]] | None:
    """(start, strides) when a 4-D array of positions is start + sum_k i_k strides_k with strides >= 0
    (0 along axes of size 1); else None."""
    start = int(index.reshape(-1)[0])
    strides = []
    for axis, size in enumerate(index.shape):
        unit = tuple(1 if k == axis else 0 for k in range(4))
        strides.append(int(index[unit]) - start if size > 1 else 0)
    if min(strides) < 0 or not np.array_equal(index, positions(list(index.shape), strides, start)):
        return None
    return start, strides


def _fold_operand(graph: Graph, node: Node, index: int, role: str) -> int:
    name = node.inputs[index]
    movement = graph.producer(name)
    if (movement is None or sole_consumer(graph, name) is not node or graph.is_graph_output(name)
            or node.inputs.count(name) > 1 or len(movement.inputs) != 1
            or _own_quantization(graph, name, movement.inputs[0])):
        return 0
    index_map = op_of(movement).index_map(movement, graph)
    if index_map is None:
        return 0
    _, _, lhs_strides, rhs_strides, _ = geometry(node)
    shape = operand_shapes(node)[index]
    read = positions(shape, lhs_strides if index == 0 else rhs_strides, node.attrs.get(f"{role}_start", 0))
    found = affine(index_map[read])
    if found is None:
        return 0
    node.attrs[f"{role}_view"], node.attrs[f"{role}_perm"] = shape, [0, 1, 2, 3]
    node.attrs[f"{role}_start"], node.attrs[f"{role}_strides"] = found
    node.inputs[index] = movement.inputs[0]
    if not graph.consumers(name):
        graph.remove_node(movement)
    return 1


def _fold_output(graph: Graph, node: Node) -> int:
    name = node.outputs[0]
    movement = sole_consumer(graph, name)
    if (movement is None or graph.is_graph_output(name) or len(movement.outputs) != 1
            or _own_quantization(graph, movement.outputs[0], name)):
        return 0
    index_map = op_of(movement).index_map(movement, graph)
    size = graph.tensors[name].size
    if index_map is None or index_map.size != size or not np.array_equal(np.sort(index_map), np.arange(size)):
        return 0
    where = np.empty(size, np.int64)
    where[index_map] = np.arange(size, dtype=np.int64)  # product position -> position in the moved output
    out, _, _, _, out_strides = geometry(node)
    found = affine(where[positions(out, out_strides)])
    if found is None or found[0] != 0:
        return 0
    node.attrs["out_strides"] = found[1]
    node.outputs[0] = movement.outputs[0]
    graph.remove_node(movement)
    return 1
