"""Fold Transposes around a batch matmul into its addressing (ops/batch_matmul.py).

Attention transposes its operands and result: the heads' [B, T, H, D] -> [B, H, T, D] for Q, K and V,
K -> K^T for the scores, and [B, H, T, D] -> [B, T, H, D] after A V. The batch matmul reads each operand
through strides over a 4-D view of the tensor it is stored in, and writes its output through strides,
so a Transpose whose only reader (or whose only input) is the matmul becomes a different set of strides:
no copy, no tensor in the arena. Only where the transposed tensor carries no quantization of its own
(a QDQ model's parameters are kept) and is not a graph output.
"""

from __future__ import annotations

from ..ir import Graph, Node
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


def _view_and_perm(graph: Graph, transpose: Node) -> tuple[list[int], list[int]]:
    """The transpose's input as 4-D storage and its permutation (ops/reshape.py TransposeOp)."""
    view = transpose.attrs.get("view")
    if view is None:
        shape = list(graph.tensors[transpose.inputs[0]].shape)
        view = [1] * (4 - len(shape)) + shape
    return list(view), list(transpose.attrs["perm"])


def _own_quantization(graph: Graph, tensor: str, source: str) -> bool:
    quant, original = graph.tensors[tensor].quant, graph.tensors[source].quant
    return quant is not None and quant != original


def _fold_operand(graph: Graph, node: Node, index: int, role: str) -> int:
    name = node.inputs[index]
    transpose = graph.producer(name)
    if (transpose is None or transpose.op != "transpose" or sole_consumer(graph, name) is not node
            or graph.is_graph_output(name) or node.inputs.count(name) > 1
            or _own_quantization(graph, name, transpose.inputs[0])):
        return 0
    view, perm = _view_and_perm(graph, transpose)
    # The matmul sees the transpose's output as the 4-D view `node.attrs[view]`; composing is only a
    # permutation when that view is the transpose's own 4-D result (not a reshape of it).
    if [view[p] for p in perm] != list(node.attrs[f"{role}_view"]):
        return 0
    node.attrs[f"{role}_view"] = view
    node.attrs[f"{role}_perm"] = [perm[p] for p in node.attrs[f"{role}_perm"]]
    node.inputs[index] = transpose.inputs[0]
    if not graph.consumers(name):
        graph.remove_node(transpose)
    return 1


def _fold_output(graph: Graph, node: Node) -> int:
    name = node.outputs[0]
    transpose = sole_consumer(graph, name)
    if (transpose is None or transpose.op != "transpose" or graph.is_graph_output(name)
            or _own_quantization(graph, transpose.outputs[0], name)):
        return 0
    view, perm = _view_and_perm(graph, transpose)
    product = list(graph.tensors[name].shape)
    product = [1] * (4 - len(product)) + product  # [B0, B1, M, N] while out_perm is the identity
    # The transpose must permute the product itself (its view is the product's 4-D shape).
    if node.attrs["out_perm"] != [0, 1, 2, 3] or view != product:
        return 0
    node.attrs["out_perm"] = perm
    node.outputs[0] = transpose.outputs[0]
    graph.remove_node(transpose)
    return 1
