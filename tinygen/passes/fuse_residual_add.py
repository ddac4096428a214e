"""Fuse a residual Add into the convolution that feeds it (ResNet's blocks): conv -> y, Add(y, x) -> z
becomes one conv2d layer reading (input, weights, bias, x) and writing z.

Runs on the int8 IR (write_compiled), because the fused layer keeps both layers' integer parameters:
the convolution's, which still requantize and clamp y exactly as its own layer would, and the Add's
(node.params["residual"]), which the C kernels (tg_conv_add_s8 and its DSP variants) and the golden
reference then apply to each output -- so the result is bit-identical to the two layers, without y
ever existing as a tensor. The kernels let z take x's place (Op.in_place), which is what lets a
residual block keep only one block-sized tensor beside the convolution's input.

Conditions: an Add of two run-time tensors of the output's shape (no broadcast), one of them the
output of an ungrouped, not yet fused conv2d with int8 weights (the 4-bit kernels have no fused twin) read
by nothing else and not a graph output.
"""

from __future__ import annotations

from ..ir import Graph
from ..ops.base import layer_weights
from .util import sole_consumer

ADD_PARAMS = ("input1_offset", "input2_offset", "output_offset", "input1_multiplier", "input1_shift",
              "input2_multiplier", "input2_shift", "output_multiplier", "output_shift", "act_min", "act_max",
              "subtract")


def run(graph: Graph) -> int:
    fused = 0
    for node in list(graph.nodes):
        if node.op != "add" or not node.params or len(node.inputs) != 2:
            continue
        if graph.tensors[node.outputs[0]].dtype != "int8":  # the fused kernels are int8 ones
            continue
        shape = graph.tensors[node.outputs[0]].shape
        if any(graph.tensors[name].data is not None or graph.tensors[name].shape != shape for name in node.inputs):
            continue
        for conv_index in (0, 1):
            conv = graph.producer(node.inputs[conv_index])
            residual = node.inputs[1 - conv_index]
            if (conv is None or conv.op != "conv2d" or conv.attrs.get("groups", 1) != 1 or "residual" in conv.params
                    or layer_weights(conv) != "int8" or sole_consumer(graph, node.inputs[conv_index]) is not node):
                continue
            conv.params["residual"] = {key: node.params[key] for key in ADD_PARAMS}
            conv.params["residual"]["conv_first"] = conv_index == 0
            conv.attrs["fused_add"] = node.name
            conv.inputs = [*conv.inputs[:3], residual]
            conv.outputs = [node.outputs[0]]
            # The fused layer runs where the Add ran: after both its inputs exist.
            graph.nodes.remove(conv)
            graph.nodes[graph.nodes.index(node)] = conv
            fused += 1
            break
    if fused:
        graph.remove_unused_tensors()
    return fused
