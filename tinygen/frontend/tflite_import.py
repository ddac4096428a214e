"""TFLite -> IR: each operator of the flatbuffer (frontend/tflite.py reads it) handed to its mapping
(frontend/tflite_ops.py); problems collected and raised together, as the ONNX importer does."""

from __future__ import annotations

from ..errors import ProblemCollector
from ..ir import Graph, Tensor
from ..ops.base import Unsupported
from .importer import model_name
from .tflite import TfliteImport, TfliteModel
from .tflite_ops import TFLITE_OPS, edge_inputs, edge_outputs


def import_tflite(model: TfliteModel, problems: ProblemCollector | None = None) -> Graph:
    """TFLite -> int8-parameterized IR (channels-last as stored). Raises UnsupportedModelError
    listing every operator that cannot be compiled; given `problems`, fills it instead and
    returns the graph of the operators that imported (`tinygen inspect`)."""
    collect_only = problems is not None
    problems = problems if problems is not None else ProblemCollector(model.path)
    graph = Graph(model_name(model.path), source=model.path)
    ctx = TfliteImport(model, graph)
    skipped = edge_inputs(ctx, problems)  # graph inputs (QUANTIZE of a float input folded into them)
    dequantized, stands_for = edge_outputs(ctx)  # DEQUANTIZE of an int8 output: the API's float boundary
    skipped |= dequantized
    for op in model.operators:
        if op.index in skipped:
            continue
        ctx.op = op
        try:
            mapping = TFLITE_OPS.get(op.op)
            if mapping is None:
                raise Unsupported(_unsupported_message(op.op))
            mapping(ctx, op)
        except Unsupported as exc:
            problems.add(exc.reason, ctx.node_name, op.op, exc.hint)
            for index in op.outputs:
                if index not in ctx.names:
                    t = model.tensors[index]
                    name = graph.unique_name(t.name)
                    graph.add_tensor(Tensor(name, t.shape, "float32", onnx_shape=t.shape))
                    ctx.names[index] = name
    for index in model.outputs:
        source = stands_for.get(index, index)
        if source in ctx.names:
            graph.outputs.append(ctx.names[source])
        else:
            problems.add(f"model output '{model.tensors[index].name}' is not produced")
    if collect_only and problems.problems:
        return graph
    problems.raise_if_any()
    graph.onnx_outputs = [model.tensors[i].name for i in model.outputs]
    graph.remove_unused_tensors()
    return graph


# Operators of the TFLite builtin set whose IR does not exist yet: named in the message, so the
# user sees "not supported yet" rather than "unknown".
NOT_YET = {"LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "GATHER",
           "PACK", "UNPACK", "BATCH_MATMUL", "DIV", "EXP", "SQUARED_DIFFERENCE", "RSQRT",
           "ARG_MAX", "ARG_MIN", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "L2_NORMALIZATION",
           "SVDF", "UNIDIRECTIONAL_SEQUENCE_RNN", "CONV_3D", "GELU", "ELU", "MIRROR_PAD", "BATCH_TO_SPACE_ND",
           "SPACE_TO_BATCH_ND", "CAST", "TILE", "BROADCAST_TO", "LOG_SOFTMAX"}


def _unsupported_message(op: str) -> str:
    if op in ("WHILE", "IF", "CALL_ONCE", "CALL"):
        return f"operator {op} (control flow) is not supported"
    if op.startswith("CUSTOM("):
        return f"custom operator {op[7:-1]} is not supported"
    if op in NOT_YET:
        return f"operator {op} is not supported yet"
    return f"operator {op} is not supported"
