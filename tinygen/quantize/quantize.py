"""Quantization: give every activation int8 parameters, then let each op quantize its constants
and derive its kernel's integer parameters (tinygen/ops/*.py `Op.quantize`).

Activations get asymmetric per-tensor int8 parameters from their calibrated range, unless their
op dictates them: data-movement ops (reshape, max pool, pad, ...) reuse their input's so they
need no arithmetic, and ops like softmax have fixed output parameters (TFLite's rules).
Tensors that arrive quantized (QDQ models) keep the parameters the model gives them.
"""

from __future__ import annotations

from ..arith import choose_activation_params
from ..ir import Graph, QuantParams
from ..ops import op_of


def quantize_graph(graph: Graph, ranges: dict[str, tuple[float, float]]) -> None:
    for name in graph.inputs:
        _assign(graph, name, ranges)
    for node in graph.nodes:
        op = op_of(node)
        for name in node.outputs:
            tensor = graph.tensors[name]
            if tensor.quant is None:
                if op.output_quant == "input":
                    tensor.quant = graph.tensors[node.inputs[0]].quant
                elif op.output_quant == "fixed":
                    tensor.quant = QuantParams.per_tensor(*op.fixed_output_quant(node, graph))
                else:
                    _assign(graph, name, ranges)
            tensor.dtype = "int8"
    for node in graph.nodes:
        op_of(node).quantize(node, graph)


def _assign(graph: Graph, name: str, ranges: dict[str, tuple[float, float]]) -> None:
    tensor = graph.tensors[name]
    tensor.dtype = "int8"
    if tensor.quant is not None:
        return
    if name not in ranges:
        raise AssertionError(f"no calibrated range for tensor {name!r}")
    tensor.quant = QuantParams.per_tensor(*choose_activation_params(*ranges[name]))
