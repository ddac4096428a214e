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

Activation types (TFLite's 16x8 scheme, docs/DESIGN.md "16-bit activations"): a layer whose precision
(quantize/precision.py, node.attrs["precision"]) asks for int16 activations computes int16 tensors with
symmetric parameters (zero point 0, scale max|x| / 32767); layers without kernels (aliases) take their
input's type. Where a layer reads a tensor of the other type, a conversion (ops/convert.py) is inserted
before it, with parameters from the same calibrated range.
"""

from __future__ import annotations

from ..arith import choose_params
from ..ir import Graph, Node, QuantParams, Tensor
from ..ops import op_of
from ..ops.kernel import layer_activations


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


def plan_activation_types(graph: Graph, ranges: dict[str, tuple[float, float]]) -> None:
    """Give every activation its storage type (tensor.dtype "int8" or "int16") from its producer's
    precision, and insert a conversion before each layer that reads a tensor of the other type. A graph
    input takes the type of its first reader. Converted tensors share the source's calibrated range."""
    node_type: dict[int, str] = {}
    for node in graph.nodes:
        op = op_of(node)
        declared = [_declared(graph.tensors[n]) for n in node.outputs if _declared(graph.tensors[n])]
        if declared and op.kernels and all(k.activations == "" for k in op.kernels):
            node_type[id(node)] = declared[0]  # a conversion the model states (TFLite QUANTIZE to int16)
        elif not op.kernels and node.inputs and graph.tensors[node.inputs[0]].data is None:
            node_type[id(node)] = "follow"  # an alias or view: its input's type, decided below
        elif any(_declared(graph.tensors[n]) == "int16" for n in [*node.inputs, *node.outputs]):
            node_type[id(node)] = "int16"  # a 16x8 layer of a model that arrives quantized
        else:
            node_type[id(node)] = layer_activations(node) if op.runs_int16(node) else "int8"
    for name in graph.inputs:
        readers = graph.consumers(name)
        wanted = _declared(graph.tensors[name]) or (node_type[id(readers[0])] if readers else "int8")
        graph.tensors[name].dtype = "int8" if wanted == "follow" else wanted
    for node in list(graph.nodes):
        wanted = node_type[id(node)]
        if wanted == "follow":
            wanted = graph.tensors[node.inputs[0]].dtype
        converts = bool(op_of(node).kernels) and all(k.activations == "" for k in op_of(node).kernels)
        for index, name in enumerate(node.inputs):
            tensor = graph.tensors[name]
            if tensor.data is None and tensor.dtype in ("int8", "int16") and tensor.dtype != wanted and not converts:
                node.inputs[index] = _convert_before(graph, node, name, wanted, ranges)
        for name in node.outputs:
            graph.tensors[name].dtype = wanted
        fixed = op_of(node).int16_output_quant(node, graph) if wanted == "int16" else None
        if fixed is not None:
            quant, given = QuantParams.per_tensor(*fixed), graph.tensors[node.outputs[0]].quant
            if given is None:
                graph.tensors[node.outputs[0]].quant = quant
            elif not given.same_as(quant):  # a quantized model's own
                _requantize_after(graph, node, 0, quant)


def _declared(tensor: Tensor) -> str:
    """The type a quantized model gives an activation: "int16" where its frontend declared it so (a 16x8
    tensor), else "int8"; "" for a float model's (no parameters yet)."""
    if tensor.quant is None:
        return ""
    return "int16" if tensor.dtype == "int16" else "int8"


def _convert_before(graph: Graph, node: Node, name: str, dtype: str, ranges: dict[str, tuple[float, float]]) -> str:
    """The tensor `name` converted to `dtype` for `node` (one conversion per tensor and type, shared by readers)."""
    source = graph.tensors[name]
    converted = f"{name}_as_{dtype}"
    if converted not in graph.tensors:
        graph.add_tensor(Tensor(converted, source.shape, dtype, onnx_shape=source.onnx_shape, layout=source.layout))
        if name in ranges:
            ranges[converted] = ranges[name]
        elif source.quant is not None:  # a quantized model's tensor: the same real range
            scale, zero_point = source.quant.scale_value, source.quant.zero_point_value
            low, high = (-128, 127) if source.dtype == "int8" else (-32768, 32767)
            ranges[converted] = (scale * (low - zero_point), scale * (high - zero_point))
        producer = graph.producer(name)
        position = graph.nodes.index(producer) + 1 if producer is not None else 0
        graph.nodes.insert(position, Node(node.name, "convert", [name], [converted], {}))
    return converted


def quantize_graph(graph: Graph, ranges: dict[str, tuple[float, float]]) -> None:
    ranges = dict(ranges)
    plan_activation_types(graph, ranges)
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
                fixed = QuantParams.per_tensor(*op.fixed_output_quant(node, graph))
                if tensor.quant is None:
                    tensor.quant = fixed
                elif tensor.dtype == "int16" and not tensor.quant.same_as(fixed):
                    # A quantized model's int16 softmax output in other parameters than TFLite's 1/32768:
                    # the kernel writes its own, a conversion maps them to the model's.
                    _requantize_after(graph, node, index, fixed)
            else:
                if tensor.quant is None and getattr(op, "separate_output_quant", False):
                    # an op that rounds each output from its state itself (ops/lstm.py, ops/gru.py) writes
                    # the read step in the parameters the model gives it further on, at once
                    tensor.quant = _quantized_downstream(graph, name)
                _assign(graph, name, ranges, _concat_reader(graph, name))
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
    if graph.tensors[readers[0].outputs[0]].dtype != graph.tensors[name].dtype:
        return None
    return readers[0].outputs[0]


def _assign(graph: Graph, name: str, ranges: dict[str, tuple[float, float]], like: str | None = None) -> None:
    tensor = graph.tensors[name]
    if tensor.dtype not in ("int8", "int16"):
        tensor.dtype = "int8"
    if tensor.quant is not None:
        return
    if like is not None and graph.tensors[like].quant is not None:
        tensor.quant = graph.tensors[like].quant
        return
    if like is not None and like in ranges:
        tensor.quant = QuantParams.per_tensor(*choose_params(*ranges[like], tensor.dtype))
        return
    if name not in ranges:
        raise AssertionError(f"no calibrated range for tensor {name!r}")
    tensor.quant = QuantParams.per_tensor(*choose_params(*ranges[name], tensor.dtype))


def _requantize_after(graph: Graph, node: Node, index: int, source: QuantParams) -> None:
    """node writes a new tensor with its input's parameters; a requantization maps it to the
    parameters the model asked for."""
    target = graph.tensors[node.outputs[index]]
    moved = graph.add_tensor(Tensor(graph.unique_name(f"{target.name}_unscaled"), target.shape, target.dtype,
                                    quant=source, onnx_shape=target.onnx_shape, layout=target.layout))
    node.outputs[index] = moved.name
    requantize = (Node(node.name, "convert", [moved.name], [target.name], {}) if target.dtype == "int16" else
                  Node(node.name, "lut", [moved.name], [target.name], {"function": "requantize", "args": {}}))
    graph.nodes.insert(graph.nodes.index(node) + 1, requantize)
