"""Constant Pad. A zero Pad in front of a conv or average pool is folded into that op by
passes/fuse_pad.py; the rest run as a copy into a buffer prefilled with the quantized pad value
(the output keeps the input's quantization)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..cformat import c_init
from ..ir import Graph, Layout, Node, broadcast_dims
from .base import Kernel, Op, Unsupported, onnx_op, register
from .common import input_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


@onnx_op("Pad", layout="transparent", constraints="mode 'constant'; constant pads (non-negative) and value")
def Pad(ctx: ImportContext, data: Value, pads: Value, constant_value: Value | None = None,
        axes: Value | None = None, *, mode: str = "constant") -> None:
    if mode != "constant":
        raise Unsupported(f"mode '{mode}' is not supported (only 'constant')")
    if pads.const is None or (constant_value is not None and constant_value.const is None) or (
            axes is not None and axes.const is None):
        raise Unsupported("pads, value and axes must be constants")
    if data.const is not None:
        raise Unsupported("padding a constant that was not folded")
    rank = data.rank
    if rank > 4:
        raise Unsupported(f"rank-{rank} tensors are not supported")
    chosen = [int(a) % rank for a in np.asarray(axes.const).reshape(-1)] if axes is not None else list(range(rank))
    amounts = np.asarray(pads.const).reshape(-1).astype(int)
    begin, end = [0] * rank, [0] * rank
    for i, axis in enumerate(chosen):
        begin[axis], end[axis] = int(amounts[i]), int(amounts[i + len(chosen)])
    if min(begin + end) < 0:
        raise Unsupported("negative pads (cropping) are not supported")
    value = 0.0 if constant_value is None else float(np.asarray(constant_value.const).reshape(-1)[0])
    out = ctx.output_value(ctx.output_name)
    ctx.emit("pad", [data.runtime], [out.runtime], mode="constant", value=value,
             pads=_physical_pads(begin, end, data.layout))


def _physical_pads(begin: list[int], end: list[int], layout: Layout) -> list[int]:
    """ONNX per-axis pads -> [N, H, W, C] begin + end of the 4-D storage."""
    rank = len(begin)
    if layout is Layout.CHANNELS_LAST:
        if rank == 4:
            order = [0, 2, 3, 1]
            return [begin[a] for a in order] + [end[a] for a in order]
        return [begin[0], 0, begin[2], begin[1], end[0], 0, end[2], end[1]]
    lead = [0] * (4 - rank)
    return lead + begin + lead + end


@register
class PadOp(Op):
    name = "pad"
    summary = "constant padding (zero padding before a conv or average pool is folded into it)"
    kernels = (Kernel("tg_pad_s8", "tg_pad_params"),)
    output_quant = "input"

    def quantize(self, node: Node, graph: Graph) -> None:
        scale, zero_point = input_quant(graph, node)
        value = int(arith.quantize_float(np.array([node.attrs["value"]], np.float32), scale, zero_point)[0])
        node.params = {"pad_value": value}

    def _dims4(self, graph: Graph, name: str) -> tuple[int, ...]:
        return broadcast_dims(graph.tensors[name].shape)

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        pads = node.attrs["pads"]
        x = inputs[0].reshape(self._dims4(graph, node.inputs[0]))
        out = np.pad(x, list(zip(pads[:4], pads[4:], strict=True)), constant_values=node.params["pad_value"])
        return [out.astype(np.int8).reshape(graph.tensors[node.outputs[0]].shape)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        pads = node.attrs["pads"]
        fields = [("input", c_init(self._dims4(graph, node.inputs[0]))),
                  ("output", c_init(self._dims4(graph, node.outputs[0]))),
                  ("before", c_init(pads[:4])),
                  ("pad_value", str(node.params["pad_value"]))]
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
