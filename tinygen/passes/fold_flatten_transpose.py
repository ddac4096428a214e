"""Remove the channels-first transpose in front of Flatten -> fully connected.

ONNX flattens a feature map in [C, H, W] order; tinygen stores it [H, W, C]. Rather than
transposing the activations at run time, permute the FC weight columns once, at compile time,
so the FC reads the channels-last bytes directly (what TFLite's converter does).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph
from .util import sole_consumer


def run(graph: Graph) -> int:
    folded = 0
    for transpose in list(graph.nodes):
        if transpose.op != "transpose" or transpose.attrs.get("perm") != [0, 3, 1, 2]:
            continue
        if "view" in transpose.attrs:
            continue
        reshape = sole_consumer(graph, transpose.outputs[0])
        if reshape is None or reshape.op != "reshape":
            continue
        fc = sole_consumer(graph, reshape.outputs[0])
        if fc is None or fc.op != "fully_connected" or fc.inputs[0] != reshape.outputs[0]:
            continue
        n, h, w, c = graph.tensors[transpose.inputs[0]].shape
        weights = graph.tensors[fc.inputs[1]]
        assert weights.data is not None
        out_features, depth = weights.data.shape
        if depth != c * h * w or n != 1:
            continue
        weights.data = np.ascontiguousarray(
            weights.data.reshape(out_features, c, h, w).transpose(0, 2, 3, 1).reshape(out_features, depth))
        reshape.inputs = [transpose.inputs[0]]
        graph.remove_node(transpose)
        folded += 1
    return folded
