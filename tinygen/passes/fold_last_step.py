"""Fold what a model does with a recurrent layer's outputs into the layer, for ops that round each output
from their internal state with parameters of its own (`separate_output_quant`: ops/gru.py, ops/lstm.py).
A layer whose weights arrive quantized (a .tflite LSTM) keeps its file's outputs: its state has their
parameters.

  * The last step of Y read through Gather / Slice (PyTorch's `output[:, -1]`, after the composed
    movements of passes/fold_copies.py: one copy or view) is Y_h for a single direction (for two: the
    forward direction's last step and the reverse one's first, which `output[:, -1]` is not): the layer writes
    Y_h there, and Y, read by nothing else, is not computed (no arena for [steps, hidden]). Y_h is then
    calibrated on the final states only, a range often narrower than all steps'.
  * A movement that only renames Y_h (`h[0]` of [1, 1, H]) is dropped the same way.
  * A requantization (a QDQ model's QuantizeLinear giving the read step its own parameters, a `lut`
    requantize) after Y or Y_h is absorbed: the layer rounds its state once, to those parameters.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ops import op_of
from ..ops.recurrent import directions_of, to_storage
from .util import sole_consumer


def run(graph: Graph) -> int:
    folded = 0
    for node in list(graph.nodes):
        if getattr(op_of(node), "separate_output_quant", False) and graph.tensors[node.inputs[1]].dtype != "int8":
            while _fold_once(graph, node):
                folded += 1
    return folded


def _plain(graph: Graph, name: str) -> bool:
    """Whether a tensor's storage is its ONNX order ([directions, hidden] for a final state)."""
    tensor = graph.tensors[name]
    return bool(np.array_equal(to_storage(np.arange(tensor.size), tensor).ravel(), np.arange(tensor.size)))


def _final_positions(graph: Graph, node: Node, y: str) -> np.ndarray:
    """Where Y stores the final state of each direction and unit, in Y_h's order [direction, unit]."""
    a = node.attrs
    steps, directions, hidden = a["steps"], a["directions"], a["hidden"]
    logical = to_storage(np.arange(steps * directions * hidden), graph.tensors[y]).ravel()
    where = np.empty(logical.size, np.int64)
    where[logical] = np.arange(logical.size, dtype=np.int64)
    last = [0 if reverse else steps - 1 for reverse in directions_of(node)]
    return np.array([where[(last[d] * directions + d) * hidden + j] for d in range(directions)
                     for j in range(hidden)], np.int64)


def _fold_once(graph: Graph, node: Node) -> bool:
    roles = node.attrs["roles"]
    for index, (name, role) in enumerate(zip(node.outputs, roles, strict=True)):
        reader = sole_consumer(graph, name)
        if reader is None or len(reader.outputs) != 1 or reader.inputs != [name]:
            continue
        target = reader.outputs[0]
        if reader.op == "lut" and reader.attrs.get("function") == "requantize":
            node.outputs[index] = target  # the layer rounds its state to the new parameters itself
            graph.remove_node(reader)
            return True
        index_map = op_of(reader).index_map(reader, graph)
        if index_map is None or not _plain(graph, target):
            continue
        if role == "y_h" and np.array_equal(index_map, np.arange(graph.tensors[name].size)):
            node.outputs[index] = target
        elif (role == "y" and "y_h" not in roles and np.array_equal(index_map, _final_positions(graph, node, name))):
            node.outputs[index], roles[index] = target, "y_h"
        else:
            continue
        graph.remove_node(reader)
        return True
    return False
