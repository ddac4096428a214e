"""Concat along the channel axis (the innermost one in storage).

Each input whose quantization differs from the output's is requantized on the fly
(out = zp_out + requant(q - zp_in)); inputs that share the output's parameters -- all of them in
models converted from TFLite -- are copied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..ir import Graph, Layout, Node
from .base import Kernel, Op, Unsupported, onnx_op, register
from .common import input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


@onnx_op("Concat", layout="transparent", constraints="along the channel axis (the last axis of a plain tensor)")
def Concat(ctx: ImportContext, *inputs: Value, axis: int = 1) -> None:
    if any(v.const is not None for v in inputs):
        raise Unsupported("concatenating constants is not supported")
    first = inputs[0]
    axis = axis % first.rank
    innermost = 1 if first.layout is Layout.CHANNELS_LAST else first.rank - 1
    if axis != innermost:
        raise Unsupported(f"concatenation along axis {axis}; only the channel axis ({innermost}) is supported")
    if any(v.layout is not first.layout for v in inputs):
        raise Unsupported("inputs with different layouts")
    out = ctx.output_value(ctx.output_name)
    ctx.emit("concat", [v.runtime for v in inputs], [out.runtime])


@register
class ConcatOp(Op):
    name = "concat"
    summary = "concatenation along the channel axis, requantizing inputs whose parameters differ"
    kernels = (Kernel("tg_concat_s8", "tg_concat_params"),)

    def quantize(self, node: Node, graph: Graph) -> None:
        out_scale, out_zp = output_quant(graph, node)
        entries = []
        for index in range(len(node.inputs)):
            scale, zp = input_quant(graph, node, index)
            same = np.float32(scale) == np.float32(out_scale) and zp == out_zp
            multiplier, shift = (0, 0) if same else arith.quantize_multiplier(
                np.float64(scale) / np.float64(out_scale))
            entries.append((0 if same else 1, -zp, multiplier, shift))
        node.params = {"requant": np.array([e[0] for e in entries], np.int32),
                       "input_offset": np.array([e[1] for e in entries], np.int32),
                       "multiplier": np.array([e[2] for e in entries], np.int32),
                       "shift": np.array([e[3] for e in entries], np.int32),
                       "output_offset": out_zp}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        parts = []
        for index, x in enumerate(inputs):
            if p["requant"][index]:
                x = arith.requantize(x.astype(np.int64) + p["input_offset"][index], p["multiplier"][index],
                                     p["shift"][index], p["output_offset"], -128, 127)
            parts.append(x)
        return [np.concatenate(parts, axis=-1)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        out = graph.tensors[node.outputs[0]]
        channels = np.array([graph.tensors[n].shape[-1] for n in node.inputs], np.int32)
        local = f"inputs_{ctx.layer_index}"
        pointers = ", ".join(ctx.pointer(n) for n in node.inputs)
        fields = [("outer", str(out.size // out.shape[-1])), ("output_channels", str(out.shape[-1])),
                  ("num_inputs", str(len(node.inputs))),
                  ("channels", ctx.array("channels", channels, "channels of each input")),
                  ("requant", ctx.array("requant", p["requant"], "1: requantize this input")),
                  ("input_offset", ctx.array("input_offset", p["input_offset"], "-input zero points")),
                  ("multiplier", ctx.array("multiplier", p["multiplier"], "requantization multipliers")),
                  ("shift", ctx.array("shift", p["shift"], "requantization shifts")),
                  ("output_offset", str(p["output_offset"]))]
        return ctx.call(fields, [local, ctx.pointer(node.outputs[0])],
                      setup=[f"const int8_t *const {local}[{len(node.inputs)}] = {{{pointers}}};"])
