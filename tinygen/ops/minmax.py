"""Elementwise Max and Min of two int8 tensors with broadcasting (torch.maximum / torch.minimum, a clamp
against a tensor or a constant), as TFLite's MAXIMUM / MINIMUM.

TFLite requires both inputs and the output to share their quantization, so its kernel only compares.
A float model calibrates each tensor on its own, so each input is first rescaled to the output's
parameters, zp_out + MBQM(x - zp_in, s_in / s_out), where they differ (and used as it is where they do
not: a QDQ or TFLite model gets the bare comparison). Rescaling is monotone, so the maximum of the
rescaled inputs is the rescaled maximum; the clamp to int8 and the fused activation come last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from .base import Kernel, onnx_op, register
from .common import activation_range, input_quant, output_quant
from .elementwise import BinaryOp, import_binary, replaces_same_shape_input

if TYPE_CHECKING:
    from ..ir import Graph, Node
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


@onnx_op("Max", layout="transparent", constraints="two tensors (same shape or broadcast), or a tensor and a constant")
def Max(ctx: ImportContext, A: Value, B: Value) -> None:
    import_binary(ctx, "minmax", A, B, maximum=True)


@onnx_op("Min", layout="transparent", constraints="as Max")
def Min(ctx: ImportContext, A: Value, B: Value) -> None:
    import_binary(ctx, "minmax", A, B, maximum=False)


INPUT_FIELDS = ("offset", "multiplier", "shift", "rescale")


@register
class MinMaxOp(BinaryOp):
    name = "minmax"
    summary = "elementwise maximum or minimum with broadcasting, TFLite int8 MAXIMUM / MINIMUM"
    kernels = (Kernel("tg_minmax_s8", "tg_minmax_params", in_place=replaces_same_shape_input),)

    def quantize(self, node: Node, graph: Graph) -> None:
        super().quantize(node, graph)  # a constant operand: int8 with its own parameters
        out_scale, out_zp = output_quant(graph, node)
        params: dict = {"output_offset": out_zp, "maximum": bool(node.attrs["maximum"])}
        for index in (0, 1):
            scale, zp = input_quant(graph, node, index)
            rescale = not (np.float32(scale) == np.float32(out_scale) and zp == out_zp)
            multiplier, shift = (arith.quantize_multiplier(np.float64(scale) / np.float64(out_scale))
                                 if rescale else (0, 0))
            params.update({f"input{index + 1}_offset": -zp, f"input{index + 1}_multiplier": multiplier,
                           f"input{index + 1}_shift": shift, f"input{index + 1}_rescale": rescale})
        params["act_min"], params["act_max"] = activation_range(node, graph)
        node.params = params

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        rescaled = []
        for index, x in enumerate(inputs, start=1):
            value = x.astype(np.int64)
            if p[f"input{index}_rescale"]:
                value = arith.multiply_by_quantized_multiplier(
                    value + p[f"input{index}_offset"], p[f"input{index}_multiplier"], p[f"input{index}_shift"]
                ) + p["output_offset"]
            rescaled.append(value)
        out = np.maximum(*rescaled) if p["maximum"] else np.minimum(*rescaled)
        out = np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)
        return [np.broadcast_to(out, graph.tensors[node.outputs[0]].shape).copy()]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        fields = self.emit_common(node, graph, ctx) + [
            (f"input{index}_{field}", str(int(p[f"input{index}_{field}"])))
            for index in (1, 2) for field in INPUT_FIELDS
        ] + [("output_offset", str(p["output_offset"])), ("activation_min", str(p["act_min"])),
             ("activation_max", str(p["act_max"])), ("maximum", "1" if p["maximum"] else "0")]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.inputs[1]),
                                 ctx.pointer(node.outputs[0])])
