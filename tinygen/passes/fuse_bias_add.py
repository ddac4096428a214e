"""Fold Add(constant) after a conv or fully connected layer into that layer's bias.

Exporters often emit MatMul + Add instead of Gemm (and Conv + Add for a separate bias). The
constant must hold one value per output channel (or a single value) along the channel axis.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, QuantParams, Tensor
from ..ops import op_of
from .util import sole_consumer


def run(graph: Graph) -> int:
    folded = 0
    for node in list(graph.nodes):
        if node.op != "add" or node.attrs.get("subtract"):
            continue
        for data_index, const_index in ((0, 1), (1, 0)):
            producer = graph.producer(node.inputs[data_index])
            constant = graph.tensors[node.inputs[const_index]]
            if (producer is None or not op_of(producer).has_weights or constant.data is None
                    or producer.attrs.get("activation")
                    or sole_consumer(graph, node.inputs[data_index]) is not node):
                continue
            bias = graph.tensors[producer.inputs[2]]
            channels = bias.shape[0]
            values = constant.data
            if values.size != 1 and not (values.shape[-1] == channels and values.size == channels):
                continue
            assert bias.data is not None
            if constant.dtype == "int32" and values.size == channels and not np.any(bias.data):
                # A quantized model's int32 bias: the layer takes it as it is.
                bias_name = graph.unique_name(f"{constant.name}_bias")
                graph.add_tensor(Tensor(bias_name, (channels,), "int32", data=values.reshape(channels),
                                        quant=_channel_quant(constant.quant)))
                producer.inputs[2] = bias_name
            else:
                real = values.astype(np.float64)
                if constant.dtype != "float32" and constant.quant is not None:
                    real = (real - constant.quant.zero_point.astype(np.float64)) * constant.quant.scale
                bias.data = (bias.data + np.broadcast_to(real.reshape(-1), (channels,))).astype(np.float32)
            producer.outputs = [node.outputs[0]]
            graph.remove_node(node)
            folded += 1
            break
    return folded


def _channel_quant(quant: QuantParams | None) -> QuantParams | None:
    """The constant's parameters, with a per-channel axis (if any) now axis 0 of the vector."""
    if quant is None or quant.is_per_tensor:
        return quant
    return QuantParams(quant.scale, quant.zero_point, 0)
