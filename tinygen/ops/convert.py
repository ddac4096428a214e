"""Conversion between activation types: an int8 tensor read by a 16x8 layer, or an int16 tensor read by an
int8 layer (mixed precision, quantize/quantize.py inserts them), or a requantization between two int16
tensors. It is TFLite's QUANTIZE of an int8 / int16 tensor (its Requantize): out = clamp(zp_out +
MBQM(x - zp_in, s_in / s_out)), the multiplier computed in double from the float32 scales. x - zp_in is
within 17 bits, so a left shift up to 14 cannot overflow int32 (quantize refuses more).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..errors import TinygenError
from ..ir import Graph, Node
from .base import Kernel, Op, register
from .common import input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext

MAX_SHIFT = 14


def _types(first: str, second: str) -> Callable[[Node, Graph], bool]:
    """The kernel for input type `first` and output type `second`."""

    def applies(node: Node, graph: Graph) -> bool:
        return (graph.tensors[node.inputs[0]].dtype, graph.tensors[node.outputs[0]].dtype) == (first, second)

    return applies


@register
class ConvertOp(Op):
    name = "convert"
    summary = "requantization between int8 and int16 activations (TFLite QUANTIZE)"
    kernels = (
        Kernel("tg_requantize_s8_s16", "tg_requantize_params", applies=_types("int8", "int16"), activations=""),
        Kernel("tg_requantize_s16_s8", "tg_requantize_params", applies=_types("int16", "int8"), activations=""),
        Kernel("tg_requantize_s16", "tg_requantize_params", applies=_types("int16", "int16"), activations=""),
    )
    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        in_scale, in_zp = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        multiplier, shift = arith.quantize_multiplier(np.float64(in_scale) / np.float64(out_scale))
        if shift > MAX_SHIFT:
            raise TinygenError(f"node '{node.name}': converting to a scale {in_scale / out_scale:.3g} times finer "
                               "than its input's would overflow the requantization")
        node.params = {"input_offset": -in_zp, "output_offset": out_zp, "multiplier": multiplier, "shift": shift}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        dtype = graph.tensors[node.outputs[0]].dtype
        low, high = arith.DTYPE_RANGES[dtype]
        out = arith.multiply_by_quantized_multiplier(inputs[0].astype(np.int64) + p["input_offset"],
                                                     p["multiplier"], p["shift"]) + p["output_offset"]
        return [np.clip(out, low, high).astype(dtype)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        fields = [("size", str(graph.tensors[node.outputs[0]].size))] + [
            (key, str(int(p[key]))) for key in ("input_offset", "output_offset", "multiplier", "shift")]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
