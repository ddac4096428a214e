"""Quantization: give every activation int8 parameters, then let each op quantize its constants
and derive its kernel's integer parameters (tinygen/ops/*.py `Op.quantize`).

Activations get asymmetric per-tensor int8 parameters from their calibrated range, unless their
op dictates them: data-movement ops (reshape, max pool, pad, ...) reuse their input's so they
need no arithmetic, and ops like softmax have fixed output parameters (TFLite's rules). An
average pool ("input_or_calibrated") takes its input's in a model that arrives quantized, and its own
calibrated ones in a float model (the mean's range is finer than its input's; docs/DESIGN.md).
Tensors that arrive quantized (QDQ models) keep the parameters the model gives them; where a
data-movement op's output was given parameters other than its input's, a requantization is
inserted after it.
"""

from __future__ import annotations

from ..arith import choose_activation_params
from ..ir import Graph, Node, QuantParams, Tensor
from ..ops import op_of


def tensors_needing_ranges(graph: Graph) -> list[str]:
    """Activations whose parameters must come from calibration (none in a fully quantized model)."""
    needed = [name for name in graph.inputs if graph.tensors[name].quant is None]
    for node in graph.nodes:
        if op_of(node).output_quant == "calibrated" or _calibrates(node, graph):
            needed += [name for name in node.outputs if graph.tensors[name].quant is None]
    return needed


def _calibrates(node: Node, graph: Graph) -> bool:
    """An "input_or_calibrated" op whose input is float (no parameters yet): a float model's."""
    return op_of(node).output_quant == "input_or_calibrated" and graph.tensors[node.inputs[0]].quant is None


def quantize_graph(graph: Graph, ranges: dict[str, tuple[float, float]]) -> None:
    calibrated = {id(node) for node in graph.nodes if _calibrates(node, graph)}  # before any is assigned
    for name in graph.inputs:
        _assign(graph, name, ranges)
    for node in list(graph.nodes):
        op = op_of(node)
        for index, name in enumerate(node.outputs):
            tensor = graph.tensors[name]
            if id(node) in calibrated and tensor.quant is None and name in ranges:
                _assign(graph, name, ranges)
                node.attrs["output_calibrated"] = True  # the op's quantize picks its arithmetic by it
            elif op.output_quant in ("input", "input_or_calibrated"):
                source = graph.tensors[node.inputs[0]].quant
                if tensor.quant is None and op.rescales_output:
                    tensor.quant = _quantized_downstream(graph, name) or source
                elif tensor.quant is None:
                    tensor.quant = source
                elif not tensor.quant.same_as(source) and not op.rescales_output:
                    assert source is not None
                    _requantize_after(graph, node, index, source)
            elif op.output_quant == "fixed":
                if tensor.quant is None:
                    tensor.quant = QuantParams.per_tensor(*op.fixed_output_quant(node, graph))
            else:
                _assign(graph, name, ranges, _concat_reader(graph, name))
            tensor.dtype = "int8"
    for node in graph.nodes:
        op_of(node).quantize(node, graph)


def _quantized_downstream(graph: Graph, name: str) -> QuantParams | None:
    """The parameters the model gives `name`'s value further on, through ops that only move int8 values in
    their input's parameters (reshape, copy, gather, max pool), each the one reader of the one before.
    A quantized model may average in float and quantize only after squeezing the result (ReduceMean,
    Gather, Gather, QuantizeLinear): an op that can rescale its output writes it in those parameters
    at once, instead of in its input's coarser ones and a requantization later (two roundings)."""
    while True:
        readers = graph.consumers(name)
        if len(readers) != 1 or graph.is_graph_output(name):
            return None
        reader = readers[0]
        reader_op = op_of(reader)
        if reader_op.output_quant != "input" or reader_op.rescales_output or len(reader.outputs) != 1:
            return None
        name = reader.outputs[0]
        if graph.tensors[name].quant is not None:
            return graph.tensors[name].quant


def _concat_reader(graph: Graph, name: str) -> str | None:
    """The output of the concat that alone reads `name`, if one does. An op that computes its output (a conv,
    an add) can write it in any parameters, and the concat's range holds this input's: written in the
    concat's parameters, it is copied there, not requantized a second time (one rounding instead of two, and
    no arithmetic in the concat), as TFLite's converter gives concat inputs their output's parameters."""
    readers = graph.consumers(name)
    if len(readers) != 1 or readers[0].op != "concat" or graph.is_graph_output(name):
        return None
    return readers[0].outputs[0]


def _assign(graph: Graph, name: str, ranges: dict[str, tuple[float, float]], like: str | None = None) -> None:
    tensor = graph.tensors[name]
    tensor.dtype = "int8"
    if tensor.quant is not None:
        return
    if like is not None and graph.tensors[like].quant is not None:
        tensor.quant = graph.tensors[like].quant
        return
    if like is not None and like in ranges:
        tensor.quant = QuantParams.per_tensor(*choose_activation_params(*ranges[like]))
        return
    if name not in ranges:
        raise AssertionError(f"no calibrated range for tensor {name!r}")
    tensor.quant = QuantParams.per_tensor(*choose_activation_params(*ranges[name]))


def _requantize_after(graph: Graph, node: Node, index: int, source: QuantParams) -> None:
    """node writes a new tensor with its input's parameters; a requantization maps it to the
    parameters the model asked for."""
    target = graph.tensors[node.outputs[index]]
    moved = graph.add_tensor(Tensor(graph.unique_name(f"{target.name}_unscaled"), target.shape, "int8",
                                    quant=source, onnx_shape=target.onnx_shape, layout=target.layout))
    node.outputs[index] = moved.name
    requantize = Node(node.name, "lut", [moved.name], [target.name], {"function": "requantize", "args": {}})
    graph.nodes.insert(graph.nodes.index(node) + 1, requantize)
