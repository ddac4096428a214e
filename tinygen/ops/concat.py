"""Concat along any axis the user wrote, of run-time tensors and constants (a class token prepended to the
tokens, a learned map beside a feature map).

In storage the axis is one stored axis (channels-last maps store the user's C innermost, H and W before it),
so the output is `outer` blocks, each the concatenation of every input's block along and inside that axis:
one kernel (tg_concat_s8) serves every axis, copying whole blocks. Each run-time input whose quantization
differs from the output's is requantized on the fly (out = zp_out + requant(q - zp_in)); inputs that share
the output's parameters -- all of them in models converted from TFLite -- are copied. A float constant is
quantized with the output's parameters (the calibrated output range includes it), so it is copied too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..cformat import C_TYPES
from ..ir import Graph, Layout, Node, QuantParams
from .base import Kernel, Op, Unsupported, onnx_op, register
from .common import input_quant, output_quant
from .copy import movement_node, source_positions, storage_map
from .slice import user_axis

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


def stored_axis(axis: int, rank: int, layout: Layout) -> int:
    """The stored axis holding the user's `axis` (channels-last: [N, C, H, W] -> [N, H, W, C], [N, C, L] ->
    [N, 1, L, C])."""
    if layout is Layout.PLAIN:
        return axis
    return {4: [0, 3, 1, 2], 3: [0, 3, 2]}[rank][axis]


def _runtime_operand(ctx: ImportContext, value: Value, layout: Layout) -> str:
    """A run-time input stored in `layout`: moved there first when it is stored otherwise."""
    tensor = value.runtime
    if value.layout is layout:
        return tensor
    target = ctx.intermediate(f"{value.name}_{layout.value}", layout.physical_shape(value.shape), layout, value.shape)
    ctx.graph.nodes.append(movement_node(ctx.graph, ctx.node_name, tensor, target,
                                         storage_map(source_positions(value), layout)))
    return target


@onnx_op("Concat", layout="transparent", constraints="any axis; constant operands too")
def Concat(ctx: ImportContext, *inputs: Value, axis: int = 1) -> None:
    out_name = ctx.output_name
    out_layout = ctx.layouts.get(out_name, Layout.PLAIN)
    rank = len(ctx.loaded.values[out_name].shape)
    axis = user_axis(axis, rank)
    if all(v.const is not None for v in inputs):
        raise Unsupported("every input is a constant that was not folded")
    names = []
    for value in inputs:
        if value.const is None:
            names.append(_runtime_operand(ctx, value, out_layout))
        else:
            names.append(ctx.constant_from(value, "concat_operand", out_layout.to_physical))
    out = ctx.output_value(out_name)
    ctx.emit("concat", names, [out.runtime], axis=stored_axis(axis, rank, out_layout))


def concat_map(sizes: list[int], outer: int, blocks: list[int]) -> np.ndarray:
    """The output of a concat of inputs of `sizes` elements in `outer` rounds of `blocks`, as positions among
    the inputs laid end to end."""
    starts = np.cumsum([0, *sizes[:-1]])
    parts = [(start + np.arange(size, dtype=np.int64)).reshape(outer, block)
             for start, size, block in zip(starts, sizes, blocks, strict=True)]
    return np.concatenate(parts, axis=1).ravel()


def concat_form(sizes: list[int], index_map: np.ndarray) -> int | None:
    """The `outer` of a concat (inputs of `sizes` elements, laid end to end) that produces `index_map`, if any:
    e.g. a channel concat followed by a channel shuffle is a concat of single elements, taken in turn."""
    common = int(np.gcd.reduce(np.asarray(sizes, np.int64)))
    for outer in sorted({d for d in range(1, common + 1) if common % d == 0}, reverse=True):
        if np.array_equal(concat_map(sizes, outer, [size // outer for size in sizes]), index_map):
            return outer
    return None


def copy_or_requantize(graph: Graph, node: Node, index: int) -> tuple[int, int, int, int]:
    """How input `index` of an op that moves values into its output is taken: (requantize?, -zero point,
    multiplier, shift) of out = zp_out + requant(q - zp_in), or a plain copy where the parameters agree.
    A float constant input is quantized with the output's parameters first (so it is copied)."""
    out_scale, out_zp = output_quant(graph, node)
    tensor = graph.tensors[node.inputs[index]]
    if tensor.data is not None and tensor.quant is None:
        dtype = graph.tensors[node.outputs[0]].dtype  # int8, or int16 (16x8)
        tensor.data = arith.quantize_float(tensor.data, out_scale, out_zp, dtype)
        tensor.dtype, tensor.quant = dtype, QuantParams.per_tensor(out_scale, out_zp)
    scale, zp = input_quant(graph, node, index)
    if np.float32(scale) == np.float32(out_scale) and zp == out_zp:
        return 0, -zp, 0, 0
    multiplier, shift = arith.quantize_multiplier(np.float64(scale) / np.float64(out_scale))
    return 1, -zp, multiplier, shift


@register
class ConcatOp(Op):
    name = "concat"
    summary = "concatenation along any axis, requantizing inputs whose parameters differ"
    kernels = (Kernel("tg_concat_s8", "tg_concat_params"),
               Kernel("tg_concat_s16", "tg_concat_params", activations="int16"))  # 16x8 (tg_s16.h)
    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        out_zp = output_quant(graph, node)[1]
        entries = [copy_or_requantize(graph, node, index) for index in range(len(node.inputs))]
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
                info = np.iinfo(x.dtype)  # int8, or int16 (16x8)
                scaled = arith.multiply_by_quantized_multiplier(x.astype(np.int64) + p["input_offset"][index],
                                                                p["multiplier"][index], p["shift"][index])
                x = np.clip(scaled + p["output_offset"], info.min, info.max).astype(x.dtype)
            parts.append(x)
        if "outer" in node.attrs:
            outer = int(node.attrs["outer"])
            joined = np.concatenate([x.reshape(outer, -1) for x in parts], axis=1)
            return [joined.reshape(graph.tensors[node.outputs[0]].shape)]
        return [np.concatenate(parts, axis=node.attrs.get("axis", -1))]

    def moved_bytes(self, node: Node, graph: Graph) -> int:
        return graph.tensors[node.outputs[0]].nbytes

    def _blocks(self, node: Node, graph: Graph) -> tuple[int, list[int]]:
        """(outer, each input's block): the elements of the stored axis and those inside it -- or, after
        passes/fold_copies.py folded a movement into the concat, the `outer` it found."""
        shape = graph.tensors[node.outputs[0]].shape
        if "outer" in node.attrs:
            outer = int(node.attrs["outer"])
            return outer, [graph.tensors[n].size // outer for n in node.inputs]
        axis = node.attrs.get("axis", -1) % len(shape)
        outer = int(np.prod(shape[:axis], dtype=np.int64))
        return outer, [int(np.prod(graph.tensors[n].shape[axis:], dtype=np.int64)) for n in node.inputs]

    def source_map(self, node: Node, graph: Graph) -> np.ndarray:
        """Each output element's position among the inputs' elements laid end to end (input 0's first)."""
        outer, blocks = self._blocks(node, graph)
        return concat_map([graph.tensors[n].size for n in node.inputs], outer, blocks)

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        outer, blocks = self._blocks(node, graph)
        channels = np.array(blocks, np.int32)
        local = f"inputs_{ctx.layer_index}"
        pointers = ", ".join(ctx.pointer(n) for n in node.inputs)
        fields = [("outer", str(outer)), ("output_channels", str(sum(blocks))),
                  ("num_inputs", str(len(node.inputs))),
                  ("channels", ctx.array("channels", channels, "channels of each input")),
                  ("requant", ctx.array("requant", p["requant"], "1: requantize this input")),
                  ("input_offset", ctx.array("input_offset", p["input_offset"], "-input zero points")),
                  ("multiplier", ctx.array("multiplier", p["multiplier"], "requantization multipliers")),
                  ("shift", ctx.array("shift", p["shift"], "requantization shifts")),
                  ("output_offset", str(p["output_offset"]))]
        return ctx.call(fields, [local, ctx.pointer(node.outputs[0])],
                      setup=[f"const {C_TYPES[graph.tensors[node.outputs[0]].dtype]} *const {local}"
                             f"[{len(node.inputs)}] = {{{pointers}}};"])
