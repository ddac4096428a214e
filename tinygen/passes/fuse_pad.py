"""Fold a constant Pad of zeros over the spatial axes into the next conv or average pool.

A convolution skips padded taps, which is exactly padding with real zero (the input zero
point). An average pool without padding of its own that follows a zero Pad counts the padded
zeros, which is ONNX's count_include_pad=1.
"""

from __future__ import annotations

from ..ir import Graph, Node
from ..ops import op_of
from .util import sole_consumer


def run(graph: Graph) -> int:
    fused = 0
    for node in list(graph.nodes):
        if node.op != "pad" or node.attrs.get("value", 0.0) != 0.0 or node.attrs.get("mode") != "constant":
            continue
        spatial = _spatial_pads(node)
        consumer = sole_consumer(graph, node.outputs[0])
        if spatial is None or consumer is None:
            continue
        if op_of(consumer).absorbs_pad:
            consumer.attrs["pads"] = [a + b for a, b in zip(consumer.attrs["pads"], spatial, strict=True)]
        elif (consumer.op == "avg_pool" and not any(consumer.attrs["pads"])
              and not consumer.attrs.get("ceil_mode")):
            consumer.attrs["pads"] = list(spatial)
            consumer.attrs["count_include_pad"] = True
        else:
            continue
        graph.replace_uses(node.outputs[0], node.inputs[0])
        graph.remove_node(node)
        fused += 1
    return fused


def _spatial_pads(node: Node) -> list[int] | None:
    """(top, left, bottom, right) if the pad touches only H and W of an [N, H, W, C] tensor."""
    begin, end = node.attrs["pads"][:4], node.attrs["pads"][4:]
    if begin[0] or end[0] or begin[3] or end[3]:
        return None
    return [begin[1], begin[2], end[1], end[2]]
