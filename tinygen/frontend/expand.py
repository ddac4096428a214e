"""Expand onnxruntime's QOperator nodes into the QDQ form before the model is shape-inferred.

Each node whose op declares an expansion (`@onnx_op(..., expands=True)`, ops/qoperator.py) is
replaced by DequantizeLinear of its inputs -> the float op -> QuantizeLinear of its output, with the
node's own scales and zero points; the QDQ import (ops/qdq.py) then runs it as an int8 kernel with
exactly those parameters. The loader calls this right after reading (and upgrading) the file; the
loader layer cannot import the ops, so this module registers itself with it (loader.REWRITES).

QOperator files also apply some plain ONNX ops directly to int8 tensors: those that only move
values (MaxPool, Flatten, Reshape, Transpose, ...), which onnxruntime leaves unexpanded because
their output keeps the input's parameters. They get the same treatment with the parameters of their
first quantized input, so the whole graph is in QDQ form. Any other plain op reading an int8 tensor
is left as it is, and the importer reports it.
"""

from __future__ import annotations

import onnx

from ..errors import ModelError, Problem
from ..ops import ONNX_IMPORTERS, OnnxImporter, Unsupported
from ..ops.onnx_import import node_attributes
from ..ops.qoperator import ExpandContext
from . import loader

# Ops that move int8 values without changing them: in a QOperator file their int8 output has their
# input's scale and zero point.
KEEPS_QUANTIZATION = {"MaxPool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
                      "Identity", "Slice", "Gather", "Split", "Resize", "Pad", "DepthToSpace", "SpaceToDepth",
                      "Expand", "Tile", "Concat"}


def _expander(node: onnx.NodeProto) -> OnnxImporter | None:
    importer = ONNX_IMPORTERS.get((node.domain if node.domain != "ai.onnx" else "", node.op_type))
    return importer if importer is not None and importer.expands else None


def expand_quantized_operators(path: str, model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with every QOperator node in QDQ form (the same model when it has none)."""
    if not any(_expander(node) for node in model.graph.node):
        return model
    graph = model.graph
    constants = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    names = {name for node in graph.node for name in [*node.input, *node.output]}
    names |= {value.name for value in [*graph.input, *graph.output]} | set(constants)
    ctx = ExpandContext(constants, names)
    nodes: list[onnx.NodeProto] = []
    problems = []
    for node in graph.node:
        ctx.node, ctx.nodes = node, []
        try:
            if _expander(node) is not None:
                _expand(ctx, node)
            elif node.op_type == "QuantizeLinear" and node.domain in ("", "ai.onnx"):
                ctx.quant[node.output[0]] = (node.input[1], node.input[2] if len(node.input) > 2 else None)
                ctx.nodes = [node]
            elif node.op_type in KEEPS_QUANTIZATION and any(name in ctx.quant for name in node.input):
                _pass_through(ctx, node)
            else:
                ctx.nodes = [node]
        except Unsupported as exc:
            label = node.name or f"<unnamed {node.op_type}>"
            problems.append(Problem(exc.reason, label, node.op_type, exc.hint))
            ctx.nodes = [node]
        nodes.extend(ctx.nodes)
    if problems:
        raise ModelError(path, "onnxruntime QOperator nodes that tinygen cannot expand into the QDQ form:",
                         problems)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(ctx.initializers)
    if not any(node.domain == "com.microsoft" for node in graph.node):
        kept = [opset for opset in model.opset_import if opset.domain != "com.microsoft"]
        del model.opset_import[:]
        model.opset_import.extend(kept)
    return model


def _expand(ctx: ExpandContext, node: onnx.NodeProto) -> None:
    importer = _expander(node)
    assert importer is not None
    names = [name or None for name in node.input]
    if len([n for n in names[:importer.required_inputs] if n]) < importer.required_inputs:
        raise Unsupported(f"needs {importer.required_inputs} inputs, got {len(names)}")
    variadic = importer.function.__code__.co_flags & 0x04
    if not variadic and len(names) > len(importer.inputs):
        raise Unsupported(f"{len(names)} inputs given, tinygen handles {len(importer.inputs)}")
    importer.function(ctx, *names, **node_attributes(node, importer))


def _pass_through(ctx: ExpandContext, node: onnx.NodeProto) -> None:
    """A value-moving op on int8 tensors: on their dequantized values, its outputs quantized alike."""
    first = next(name for name in node.input if name in ctx.quant)
    scale, zero_point = ctx.quant[first]
    inputs = []
    for name in node.input:
        if name in ctx.quant:
            inputs.append(ctx.dequantize(name, *ctx.quant[name]))
        elif name in ctx.constants and ctx.constants[name].dtype.kind in "iu" and ctx.constants[name].itemsize == 1:
            # Constant data stored as int8/uint8 in the same parameters (Pad's constant_value).
            inputs.append(ctx.dequantize(name, scale, zero_point))
        else:
            inputs.append(name)  # shapes, indices, axes
    outputs = []
    for name in node.output:
        outputs.append(ctx.unique(f"{name}_float") if name else name)
    clone = onnx.NodeProto()
    clone.CopyFrom(node)
    del clone.input[:], clone.output[:]
    clone.input.extend(inputs)
    clone.output.extend(outputs)
    ctx.nodes.append(clone)
    for original, floating in zip(node.output, outputs, strict=True):
        if original:
            ctx.quantize(floating, original, scale, zero_point)


loader.REWRITES.append(expand_quantized_operators)
