"""Fold a positive constant factor after a matrix product of two run-time tensors into the product's
requantization (ops/batch_matmul.py `scale`): attention's scores `q k^T * d^-0.5` (and `/ sqrt(d)`,
which imports as the same multiplication). The product is then requantized once, by
s_q s_k scale / s_out, instead of rounded to int8 and multiplied and rounded again: one layer and one
rounding fewer. Only where the product has no quantization of its own (a QDQ model states both roundings,
which tinygen keeps) and is read by the multiplication alone.
"""

from __future__ import annotations

import math

from ..ir import Graph
from .util import sole_consumer


def run(graph: Graph) -> int:
    folded = 0
    for node in list(graph.nodes):
        if node.op != "mul" or len(node.inputs) != 2:
            continue
        for data_index in (0, 1):
            product = graph.producer(node.inputs[data_index])
            constant = graph.tensors[node.inputs[1 - data_index]]
            if (product is None or product.op != "batch_matmul" or product.attrs.get("activation")
                    or sole_consumer(graph, product.outputs[0]) is not node
                    or graph.tensors[product.outputs[0]].quant is not None
                    or constant.data is None or constant.data.size != 1 or constant.dtype != "float32"):
                continue
            factor = float(constant.data.reshape(-1)[0])
            if not (math.isfinite(factor) and factor > 0):
                continue
            product.attrs["scale"] = product.attrs.get("scale", 1.0) * factor
            product.attrs["activation"] = node.attrs.get("activation")
            product.outputs[0] = node.outputs[0]
            graph.remove_node(node)
            folded += 1
            break
    return folded
