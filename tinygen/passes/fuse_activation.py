"""Fold a clamp (ONNX Relu, Clip, or their chains) into the op that produces its input.

The producer must accept a fused activation (conv, FC, add, ...) and be the clamp's only source:
its pre-activation output must have no other reader and must not be a graph output. The
producer then writes the clamp's output tensor directly, with the clamp bounds as its
activation range (intersected with one it already has).
"""

from __future__ import annotations

from ..ir import Graph
from ..ops import op_of
from .util import sole_consumer


def run(graph: Graph) -> int:
    fused = 0
    for node in list(graph.nodes):
        if node.op != "lut" or node.attrs.get("function") != "clip":
            continue
        producer = graph.producer(node.inputs[0])
        if producer is None or not op_of(producer).accepts_activation:
            continue
        if sole_consumer(graph, node.inputs[0]) is not node:
            continue
        # The clamp's bounds are the table function's arguments (ops/unary.py: args={min, max}).
        producer.attrs["activation"] = _intersect(producer.attrs.get("activation"), node.attrs.get("args", {}))
        producer.outputs = [node.outputs[0]]
        graph.remove_node(node)
        fused += 1
    return fused


def _intersect(current: dict | None, clamp: dict) -> dict:
    low, high = clamp.get("min"), clamp.get("max")
    if current:
        if current.get("min") is not None:
            low = current["min"] if low is None else max(low, current["min"])
        if current.get("max") is not None:
            high = current["max"] if high is None else min(high, current["max"])
    return {"min": low, "max": high}
