"""Where with a constant condition: each output element is taken from X where the condition holds, else
from Y (torch.where / masked_fill with a fixed mask).

Both operands are brought to the output's shape and storage first: a run-time operand of another shape by a
data movement (ops/copy.py, a broadcast), a constant by broadcasting it in flash. The condition is a constant
byte per output element. Each run-time operand whose quantization differs from the output's is requantized
as it is taken (out = zp_out + requant(q - zp_in), as Concat does); a float constant is quantized with the
output's parameters. A condition that is all true or all false is a plain broadcast of one operand.

The output range is calibrated, so it spans both operands: a mask constant such as -1e9 or float32's lowest
(what masked_fill exporters write) makes every other value round to a few steps -- export with a moderate
fill value (e.g. the smallest value the following op distinguishes) where that matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..ir import Graph, Layout, Node
from .base import Kernel, Op, Unsupported, onnx_op, register
from .common import output_quant
from .concat import copy_or_requantize
from .copy import emit_movement, movement_node, source_positions, storage_map
from .elementwise import replaces_same_shape_input

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


def _operand(ctx: ImportContext, value: Value, shape: tuple[int, ...], layout: Layout, hint: str) -> str:
    """The operand as an IR tensor of the output's shape and storage."""
    if value.const is not None:
        full = np.ascontiguousarray(np.broadcast_to(np.asarray(value.const, np.float32), shape))
        return ctx.constant(hint, layout.to_physical(full))
    if tuple(value.shape) == tuple(shape) and value.layout is layout:
        return value.runtime
    target = ctx.intermediate(f"{value.name}_{hint}", layout.physical_shape(shape), layout, shape)
    positions = np.broadcast_to(source_positions(value), shape)
    ctx.graph.nodes.append(movement_node(ctx.graph, ctx.node_name, value.runtime, target,
                                         storage_map(positions, layout)))
    return target


@onnx_op("Where", layout="transparent", constraints="a constant condition (either operand may be a constant)")
def Where(ctx: ImportContext, condition: Value, X: Value, Y: Value) -> None:
    if condition.const is None:
        raise Unsupported("the condition is computed at run time; tinygen needs it constant")
    out_name = ctx.output_name
    shape = ctx.loaded.values[out_name].shape
    layout = ctx.layouts.get(out_name, Layout.PLAIN)
    mask = np.broadcast_to(np.asarray(condition.const).astype(bool), shape)
    for chosen, value in ((mask.all(), X), (not mask.any(), Y)):
        if chosen:
            if value.const is not None:
                raise Unsupported("the result is a constant that was not folded")
            emit_movement(ctx, value, out_name, np.broadcast_to(source_positions(value), shape))
            return
    if X.const is not None and Y.const is not None:
        raise Unsupported("both operands are constants that were not folded")
    a = _operand(ctx, X, shape, layout, "where_x")
    b = _operand(ctx, Y, shape, layout, "where_y")
    stored = np.ascontiguousarray(layout.to_physical(np.ascontiguousarray(mask).astype(np.int8)))
    cond = ctx.constant("where_condition", stored, "int8")
    out = ctx.output_value(out_name)
    ctx.emit("where", [a, b, cond], [out.runtime])


@register
class WhereOp(Op):
    name = "where"
    summary = "select from two tensors by a constant condition, requantizing operands whose parameters differ"
    kernels = (Kernel("tg_where_s8", "tg_where_params", in_place=replaces_same_shape_input),)

    def quantize(self, node: Node, graph: Graph) -> None:
        p: dict[str, object] = {"output_offset": output_quant(graph, node)[1]}
        for index, side in enumerate("ab"):
            requant, offset, multiplier, shift = copy_or_requantize(graph, node, index)
            p.update({f"{side}_requant": requant, f"{side}_offset": offset, f"{side}_multiplier": multiplier,
                      f"{side}_shift": shift})
        node.params = p

    def _take(self, node: Node, side: str, x: np.ndarray) -> np.ndarray:
        p = node.params
        if not p[f"{side}_requant"]:
            return x
        return arith.requantize(x.astype(np.int64) + p[f"{side}_offset"], p[f"{side}_multiplier"],
                                p[f"{side}_shift"], p["output_offset"], -128, 127)

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        a, b, cond = inputs
        return [np.where(cond != 0, self._take(node, "a", a), self._take(node, "b", b)).astype(np.int8)]

    def moved_bytes(self, node: Node, graph: Graph) -> int:
        return graph.tensors[node.outputs[0]].nbytes

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        fields = [("size", str(graph.tensors[node.outputs[0]].size)),
                  ("condition", ctx.pointer(node.inputs[2], "condition"))]
        for side in "ab":
            fields += [(f"{side}_requant", str(p[f"{side}_requant"])), (f"{side}_offset", str(p[f"{side}_offset"])),
                       (f"{side}_multiplier", str(p[f"{side}_multiplier"])), (f"{side}_shift", str(p[f"{side}_shift"]))]
        fields.append(("output_offset", str(p["output_offset"])))
        pointers = [ctx.pointer(node.inputs[0]), ctx.pointer(node.inputs[1]), ctx.pointer(node.outputs[0])]
        return ctx.call(fields, pointers)
