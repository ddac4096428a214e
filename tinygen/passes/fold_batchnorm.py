"""BatchNormalization (inference form, y = x * a[c] + b[c]) folded into the preceding Conv or
fully connected layer; a BatchNormalization with no such producer becomes a 1x1 depthwise
convolution, i.e. a per-channel affine op with per-channel quantization.

The importer has already computed a = gamma / sqrt(var + epsilon) with the node's own epsilon,
and b = beta - mean * a.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ops import op_of
from .util import sole_consumer


def run(graph: Graph) -> int:
    rewrites = 0
    for node in list(graph.nodes):
        if node.op != "batch_norm":
            continue
        scale = graph.tensors[node.inputs[1]].data
        shift = graph.tensors[node.inputs[2]].data
        assert scale is not None and shift is not None
        producer = graph.producer(node.inputs[0])
        if (producer is not None and op_of(producer).weight_channel_axis is not None
                and not producer.attrs.get("activation")
                and graph.tensors[producer.inputs[1]].dtype == "float32"
                and sole_consumer(graph, node.inputs[0]) is node):
            _fold_into(graph, producer, scale, shift)
            producer.outputs = [node.outputs[0]]
            graph.remove_node(node)
        else:
            _as_depthwise(graph, node, scale, shift)
        rewrites += 1
    return rewrites


def _fold_into(graph: Graph, producer: Node, scale: np.ndarray, shift: np.ndarray) -> None:
    weights = graph.tensors[producer.inputs[1]]
    bias = graph.tensors[producer.inputs[2]]
    assert weights.data is not None and bias.data is not None
    axis = op_of(producer).weight_channel_axis
    assert axis is not None
    shape = [1] * weights.data.ndim
    shape[axis] = -1
    weights.data = (weights.data * scale.reshape(shape)).astype(np.float32)
    bias.data = (bias.data * scale + shift).astype(np.float32)


def _as_depthwise(graph: Graph, node: Node, scale: np.ndarray, shift: np.ndarray) -> None:
    channels = scale.shape[0]
    weights = graph.tensors[node.inputs[1]]
    weights.data = scale.reshape(1, 1, 1, channels).astype(np.float32)
    weights.shape = (1, 1, 1, channels)
    node.op = "depthwise_conv2d"
    node.attrs = {"kernel": [1, 1], "stride": [1, 1], "dilation": [1, 1], "pads": [0, 0, 0, 0],
                  "ceil_mode": False, "depth_multiplier": 1, "activation": None}
