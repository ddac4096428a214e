"""Fold Add(constant) after a conv or fully connected layer into that layer's bias.

Exporters often emit MatMul + Add instead of Gemm (and Conv + Add for a separate bias). The
constant must hold one value per output channel (or a single value) along the channel axis.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph
from .util import sole_consumer

BIASED_OPS = {"conv2d", "depthwise_conv2d", "fully_connected"}


def run(graph: Graph) -> int:
    folded = 0
    for node in list(graph.nodes):
        if node.op != "add" or node.attrs.get("subtract"):
            continue
        for data_index, const_index in ((0, 1), (1, 0)):
            producer = graph.producer(node.inputs[data_index])
            constant = graph.tensors[node.inputs[const_index]]
            if (producer is None or producer.op not in BIASED_OPS or constant.data is None
                    or producer.attrs.get("activation")
                    or sole_consumer(graph, node.inputs[data_index]) is not node):
                continue
            bias = graph.tensors[producer.inputs[2]]
            channels = bias.shape[0]
            values = constant.data
            if values.size != 1 and not (values.shape[-1] == channels and values.size == channels):
                continue
            assert bias.data is not None
            bias.data = (bias.data + np.broadcast_to(values.reshape(-1), (channels,))).astype(np.float32)
            producer.outputs = [node.outputs[0]]
            graph.remove_node(node)
            folded += 1
            break
    return folded
