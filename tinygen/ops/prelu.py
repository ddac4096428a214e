"""PRelu. A single slope is a lookup table (like LeakyRelu); a slope per channel runs TFLite's
int8 PRELU arithmetic: x >= zp_in ? requant1(x - zp_in) : requant2((x - zp_in) * alpha[c]),
where alpha is the int8 (symmetric, per tensor) slope, requant1 = s_in / s_out and
requant2 = s_in * s_alpha / s_out. |(x - zp) * alpha| <= 255 * 127, far inside int32."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..ir import Graph, Layout, Node
from .base import Kernel, Op, Unsupported, onnx_op, register, replaces_input
from .common import input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


@onnx_op("PRelu", layout="transparent", constraints="constant slope: one value, or one per channel")
def PRelu(ctx: ImportContext, X: Value, slope: Value) -> None:
    if slope.const is None:
        raise Unsupported("the slope is computed at run time; it must be a constant")
    if X.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    alpha = np.asarray(slope.const, np.float32)
    out = ctx.output_value(ctx.output_name)
    if alpha.size == 1:
        ctx.emit("lut", [X.runtime], [out.runtime], function="leakyrelu",
                 args={"alpha": float(alpha.reshape(-1)[0])})
        return
    channels = X.shape[1] if X.layout is Layout.CHANNELS_LAST else X.shape[-1]
    aligned = alpha.reshape((1,) * (X.rank - alpha.ndim) + alpha.shape)
    per_channel_axis = 1 if X.layout is Layout.CHANNELS_LAST else X.rank - 1
    if alpha.size != channels or aligned.shape[per_channel_axis] != channels:
        raise Unsupported(f"slope of shape {list(alpha.shape)}; one value or one per channel is supported")
    slope_tensor = ctx.constant_from(slope, "slope", lambda array: array.reshape(-1))
    ctx.emit("prelu", [X.runtime, slope_tensor], [out.runtime])


@register
class PReluOp(Op):
    name = "prelu"
    summary = "parametric ReLU with a slope per channel, TFLite int8 PRELU arithmetic"
    kernels = (Kernel("tg_prelu_s8", "tg_prelu_params", in_place=replaces_input),)

    def quantize(self, node: Node, graph: Graph) -> None:
        in_scale, in_zp = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        slope = graph.tensors[node.inputs[1]]
        if slope.dtype != "int8":
            assert slope.data is not None
            values, scales = arith.quantize_symmetric(slope.data, None)
            slope.data, slope.dtype = values, "int8"
            from ..ir import QuantParams

            slope.quant = QuantParams(scales, np.zeros(1, np.int32))
        assert slope.quant is not None
        m1, s1 = arith.quantize_multiplier(np.float64(in_scale) / np.float64(out_scale))
        m2, s2 = arith.quantize_multiplier(np.float64(in_scale) * np.float64(slope.quant.scale_value)
                                           / np.float64(out_scale))
        node.params = {"input_offset": -in_zp, "alpha_offset": -slope.quant.zero_point_value,
                       "output_offset": out_zp, "positive_multiplier": m1, "positive_shift": s1,
                       "negative_multiplier": m2, "negative_shift": s2}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        x = inputs[0].astype(np.int64) + p["input_offset"]
        alpha = inputs[1].astype(np.int64) + p["alpha_offset"]
        positive = arith.multiply_by_quantized_multiplier(x, p["positive_multiplier"], p["positive_shift"])
        negative = arith.multiply_by_quantized_multiplier(x * alpha, p["negative_multiplier"], p["negative_shift"])
        out = np.where(x >= 0, positive, negative) + p["output_offset"]
        return [np.clip(out, -128, 127).astype(np.int8)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        tensor = graph.tensors[node.inputs[0]]
        fields = [("outer", str(tensor.size // tensor.shape[-1])), ("channels", str(tensor.shape[-1]))] + [
            (key, str(int(p[key]))) for key in ("input_offset", "alpha_offset", "output_offset",
                                                "positive_multiplier", "positive_shift",
                                                "negative_multiplier", "negative_shift")]
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.inputs[1], "slope"),
                       ctx.pointer(node.outputs[0])])
