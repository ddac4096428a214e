"""Elementwise Add, Sub and Mul of two int8 tensors with broadcasting (same shape, per channel,
per pixel, scalar, or any numpy-style broadcast up to rank 4); Sub and Div by a constant become
Add and Mul. A constant operand is quantized per tensor and stored in flash.

Arithmetic is TFLite's int8 ADD / SUB / MUL:
  add: both inputs are rescaled to a common scale 2*max(s1, s2) with 20 bits of headroom
       (x + offset) << 20, multiplied by s_i / (2 max) -- each with its own (multiplier, shift)
       -- summed, and the sum requantized by 2 max / (2^20 s_out). |x + offset| <= 255 < 2^8,
       so the shifted value stays below 2^28 and the sum of two below 2^29: no overflow.
  mul: (x1 + offset1) * (x2 + offset2), |product| <= 2^16, requantized by s1 s2 / s_out.
With int16 activations (16x8, ops/s16.py) both are TFLite's int16 recipes: zero points 0, add with a left
shift of 15 (|x| <= 2^15, so x << 15 <= 2^30), mul's product below 2^30; a constant operand is int16 too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..cformat import c_init
from ..errors import TinygenError
from ..ir import Graph, Layout, Node, QuantParams, broadcast_dims
from . import s16
from .base import InPlace, Kernel, Op, Unsupported, onnx_op, register
from .common import activation_range, input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

ADD_LEFT_SHIFT = 20
ADD_LEFT_SHIFT_S16 = 15  # TFLite's int16 ADD / SUB


def _physical_operand(ctx: ImportContext, value: Value, out_shape: tuple[int, ...], out_layout: Layout,
                      transform: str) -> str:
    """The IR tensor for one operand, broadcast-aligned to the output's physical rank."""
    rank = len(out_shape)
    if value.const is None:
        if value.rank != rank:
            raise Unsupported(f"broadcasting a rank-{value.rank} run-time tensor to rank {rank} "
                              "is not supported")
        assert value.tensor is not None
        if value.layout is not out_layout:
            raise Unsupported("operands with different layouts")
        return value.tensor
    if transform == "reciprocal" and np.any(np.asarray(value.const) == 0):
        raise Unsupported("division by a constant that contains zero")
    arithmetic = {"negate": np.negative, "reciprocal": np.reciprocal}.get(transform)

    def to_storage(array: np.ndarray) -> np.ndarray:
        if arithmetic is not None:
            array = arithmetic(array)
        aligned = array.reshape((1,) * (rank - array.ndim) + array.shape)
        return out_layout.to_physical(aligned) if out_layout is Layout.CHANNELS_LAST else aligned

    return ctx.constant_from(value, "operand", to_storage, exact=arithmetic is None)


def import_binary(ctx: ImportContext, op: str, A: Value, B: Value, transform: str = "", **attrs: object) -> None:
    if A.const is not None and B.const is not None:
        raise Unsupported("both operands are constants that were not folded")
    out_name = ctx.output_name
    out_layout = ctx.layouts.get(out_name, Layout.PLAIN)
    out_shape = ctx.loaded.values[out_name].shape
    if len(out_shape) > 4:
        raise Unsupported(f"rank-{len(out_shape)} tensors are not supported")
    a = _physical_operand(ctx, A, out_shape, out_layout, "")
    b = _physical_operand(ctx, B, out_shape, out_layout, transform)
    out = ctx.output_value(out_name)
    ctx.emit(op, [a, b], [out.runtime], activation=None, **attrs)


@onnx_op("Add", layout="transparent",
         constraints="two tensors of the same shape, or broadcast (per channel, scalar, ...)")
def Add(ctx: ImportContext, A: Value, B: Value) -> None:
    import_binary(ctx, "add", A, B)


@onnx_op("Sub", layout="transparent", constraints="as Add")
def Sub(ctx: ImportContext, A: Value, B: Value) -> None:
    if B.const is not None:
        import_binary(ctx, "add", A, B, transform="negate")
    else:
        import_binary(ctx, "add", A, B, subtract=True)


@onnx_op("Mul", layout="transparent", constraints="as Add")
def Mul(ctx: ImportContext, A: Value, B: Value) -> None:
    import_binary(ctx, "mul", A, B)


@onnx_op("Div", layout="transparent", constraints="division by a constant (becomes a multiplication)")
def Div(ctx: ImportContext, A: Value, B: Value) -> None:
    if B.const is None:
        raise Unsupported("division by a run-time tensor is not supported")
    import_binary(ctx, "mul", A, B, transform="reciprocal")


def quantize_constant_operand(graph: Graph, name: str, dtype: str = "int8") -> None:
    """A constant operand of add/mul becomes int8 with its own asymmetric per-tensor parameters (int16
    symmetric ones in a 16x8 layer)."""
    tensor = graph.tensors[name]
    if tensor.dtype == dtype or tensor.data is None:
        return
    if tensor.quant is not None:  # integers of another width (an int32 bias of a quantized model)
        tensor.data = ((tensor.data.astype(np.float64) - tensor.quant.zero_point.astype(np.float64))
                       * tensor.quant.scale).astype(np.float32)
    scale, zero_point = arith.choose_params(float(tensor.data.min()), float(tensor.data.max()), dtype)
    tensor.data = arith.quantize_float(tensor.data, scale, zero_point, dtype)
    tensor.dtype = dtype
    tensor.quant = QuantParams.per_tensor(scale, zero_point)


def _strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of an operand along each of the output's 4 axes (0 where broadcast)."""
    shape4, out4 = broadcast_dims(shape), broadcast_dims(out_shape)
    strides, step = [0, 0, 0, 0], 1
    for axis in range(3, -1, -1):
        if shape4[axis] != 1 or out4[axis] == 1:
            strides[axis] = step if shape4[axis] != 1 else 0
        step *= shape4[axis]
    return strides


def replaces_same_shape_input(node: Node, graph: Graph) -> list[InPlace]:
    """Elements are read and written in order (tg_elementwise.h): the output may take the place of
    an input of its own shape (not a broadcast one)."""
    out = graph.tensors[node.outputs[0]].shape
    return [InPlace(i, 0, exact=True) for i, name in enumerate(node.inputs)
            if graph.tensors[name].data is None and graph.tensors[name].shape == out]


def _dims4(shape: tuple[int, ...]) -> str:
    return c_init(broadcast_dims(shape))


class BinaryOp(Op):
    accepts_activation = True
    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        dtype = graph.tensors[node.outputs[0]].dtype
        for name in node.inputs:
            quantize_constant_operand(graph, name, dtype)
        if dtype == "int16":
            s16.check_symmetric(node, graph)

    def emit_common(self, node: Node, graph: Graph, ctx: EmitContext) -> list[tuple[str, str]]:
        out = graph.tensors[node.outputs[0]].shape
        s1 = _strides(graph.tensors[node.inputs[0]].shape, out)
        s2 = _strides(graph.tensors[node.inputs[1]].shape, out)
        return [("output", _dims4(out)), ("input1_strides", c_init(s1)),
                ("input2_strides", c_init(s2))]


def add_arithmetic(p: dict, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """TFLite's int8 ADD of two int8 arrays (broadcasting) with the parameters AddOp.quantize derives."""
    mbqm = arith.multiply_by_quantized_multiplier
    left_shift = p.get("left_shift", ADD_LEFT_SHIFT)
    a = (x1.astype(np.int64) + p["input1_offset"]) << left_shift
    b = (x2.astype(np.int64) + p["input2_offset"]) << left_shift
    a = mbqm(a, p["input1_multiplier"], p["input1_shift"])
    b = mbqm(b, p["input2_multiplier"], p["input2_shift"])
    total = a - b if p["subtract"] else a + b
    out = mbqm(total, p["output_multiplier"], p["output_shift"]) + p["output_offset"]
    return np.clip(out, p["act_min"], p["act_max"]).astype(p.get("dtype", "int8"))


def add_rows_applies(p: dict) -> bool:
    """tg_add_rows_applies (firmware src/tg_add_rows_s8.c): an int8 ADD whose one input has the exact
    multiplier (2^30, shift 0: the larger scale) and whose other input's shift and output shift are in the
    short requantization's -1 .. -23 -- what TFLite derives for inputs of different scales."""
    exact1 = p["input1_multiplier"] == 1 << 30 and p["input1_shift"] == 0
    exact2 = p["input2_multiplier"] == 1 << 30 and p["input2_shift"] == 0
    other = p["input2_shift"] if exact1 else p["input1_shift"]
    return bool(p.get("dtype", "int8") == "int8" and p.get("left_shift", ADD_LEFT_SHIFT) == 20 and not p["subtract"]
                and (exact1 or exact2) and -23 <= other <= -1 and -23 <= p["output_shift"] <= -1)


def rescaled_entries(p: dict, values: np.ndarray) -> np.ndarray:
    """tg_add_params.rescaled at int8 `values` of the input rescaled by its multiplier (the other one has the
    exact multiplier): tg_add_rows_s8's rescale of it, doubled, plus the other input's offset << 20, so that
    the loop's sum is the entry plus the other input's value << 20. The same integer steps as the C: the
    input's (x + offset) << 21 through the short requantization (SMMLAR with the rounding 2^(e-1) and the
    sign correction, then >> e). `p`'s fields may be arrays (one parameter set per value)."""
    exact1 = (np.asarray(p["input1_multiplier"]) == 1 << 30) & (np.asarray(p["input1_shift"]) == 0)
    multiplier = np.where(exact1, p["input2_multiplier"], p["input1_multiplier"]).astype(np.int64)
    e = -np.where(exact1, p["input2_shift"], p["input1_shift"]).astype(np.int64)
    offset_other = np.where(exact1, p["input1_offset"], p["input2_offset"]).astype(np.int64)
    offset_own = np.where(exact1, p["input2_offset"], p["input1_offset"]).astype(np.int64)
    doubled = (np.asarray(values, np.int64) + offset_own) << 21  # |.| < 2^29
    accumulate = (np.int64(1) << (e - 1)) + np.where(doubled < 0, -1, 0)
    scaled = ((doubled * multiplier + (accumulate << 32) + (1 << 31)) >> 32) >> e
    return (offset_other << 20) + 2 * scaled


RESCALED_MIN_ELEMENTS = 1024  # the table's 1 KB of flash saves ~3 cycles per element: >= 3,000 per inference


def rescaled_table(p: dict) -> np.ndarray:
    """tg_add_params.rescaled: rescaled_entries for every byte, indexed as unsigned (entry u: value int8(u))."""
    return rescaled_entries(p, np.arange(256).astype(np.uint8).astype(np.int8)).astype(np.int32)


def add_fields(p: dict, ctx: EmitContext | None = None, elements: int = 0) -> list[tuple[str, str]]:
    """The arithmetic fields of tg_add_params (without the shape and strides); with `ctx`, the rescale table
    where tg_add_rows_s8's loop applies to an Add of at least RESCALED_MIN_ELEMENTS `elements`."""
    fields = [(key, str(int(p.get(key, 0)))) for key in (
        "input1_offset", "input2_offset", "output_offset", "input1_multiplier", "input1_shift",
        "input2_multiplier", "input2_shift", "output_multiplier", "output_shift")
    ] + [("left_shift", str(p.get("left_shift", ADD_LEFT_SHIFT))), ("activation_min", str(p["act_min"])),
         ("activation_max", str(p["act_max"])), ("subtract", "1" if p["subtract"] else "0")]
    if ctx is not None and elements >= RESCALED_MIN_ELEMENTS and add_rows_applies(p):
        fields.append(("rescaled", ctx.array("rescaled", rescaled_table(p), "the Add's rescaled input by its "
                                                                            "unsigned byte (tg_add_params.rescaled)")))
    return fields


@register
class AddOp(BinaryOp):
    name = "add"
    summary = "elementwise sum (or difference) with broadcasting, TFLite int8 ADD arithmetic"
    kernels = (Kernel("tg_add_fast_s8", "tg_add_params", in_place=replaces_same_shape_input),
               Kernel("tg_add_s16", "tg_add_params", in_place=replaces_same_shape_input, activations="int16"))

    def quantize(self, node: Node, graph: Graph) -> None:
        super().quantize(node, graph)
        s1, zp1 = input_quant(graph, node, 0)
        s2, zp2 = input_quant(graph, node, 1)
        so, zpo = output_quant(graph, node)
        dtype = graph.tensors[node.outputs[0]].dtype
        left_shift = ADD_LEFT_SHIFT_S16 if dtype == "int16" else ADD_LEFT_SHIFT
        twice_max = 2.0 * max(np.float64(s1), np.float64(s2))
        m1, sh1 = arith.quantize_multiplier(np.float64(s1) / twice_max)
        m2, sh2 = arith.quantize_multiplier(np.float64(s2) / twice_max)
        mo, sho = arith.quantize_multiplier(twice_max / ((1 << left_shift) * np.float64(so)))
        act_min, act_max = s16.activation_range_s16(node, graph) if dtype == "int16" else activation_range(node, graph)
        node.params = {"input1_offset": -zp1, "input2_offset": -zp2, "output_offset": zpo,
                       "input1_multiplier": m1, "input1_shift": sh1, "input2_multiplier": m2,
                       "input2_shift": sh2, "output_multiplier": mo, "output_shift": sho,
                       "act_min": act_min, "act_max": act_max,
                       "subtract": bool(node.attrs.get("subtract", False))}
        if dtype == "int16":
            node.params.update(left_shift=left_shift, dtype=dtype)

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        out = add_arithmetic(node.params, inputs[0], inputs[1])
        return [np.broadcast_to(out, graph.tensors[node.outputs[0]].shape).copy()]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        fields = self.emit_common(node, graph, ctx) + add_fields(node.params, ctx,
                                                                 graph.tensors[node.outputs[0]].size)
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.inputs[1]),
                       ctx.pointer(node.outputs[0])])


@register
class MulOp(BinaryOp):
    name = "mul"
    summary = "elementwise product with broadcasting, TFLite int8 MUL arithmetic"
    kernels = (Kernel("tg_mul_s8", "tg_mul_params", in_place=replaces_same_shape_input),
               Kernel("tg_mul_s16", "tg_mul_params", in_place=replaces_same_shape_input, activations="int16"))

    def quantize(self, node: Node, graph: Graph) -> None:
        super().quantize(node, graph)
        s1, zp1 = input_quant(graph, node, 0)
        s2, zp2 = input_quant(graph, node, 1)
        so, zpo = output_quant(graph, node)
        m, sh = arith.quantize_multiplier(np.float64(s1) * np.float64(s2) / np.float64(so))
        if graph.tensors[node.outputs[0]].dtype == "int16":
            act_min, act_max = s16.activation_range_s16(node, graph)
            if sh > 0:  # the product (|.| <= 2^30) shifted left would overflow int32
                raise TinygenError(f"node '{node.name}': an int16 product whose output scale is finer than the "
                                   "product of the input scales is not supported")
        else:
            act_min, act_max = activation_range(node, graph)
        node.params = {"input1_offset": -zp1, "input2_offset": -zp2, "output_offset": zpo,
                       "output_multiplier": m, "output_shift": sh, "act_min": act_min, "act_max": act_max}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        product = ((inputs[0].astype(np.int64) + p["input1_offset"])
                   * (inputs[1].astype(np.int64) + p["input2_offset"]))
        out = arith.multiply_by_quantized_multiplier(product, p["output_multiplier"], p["output_shift"])
        out = np.clip(out + p["output_offset"], p["act_min"], p["act_max"]).astype(graph.tensors[node.outputs[0]].dtype)
        return [np.broadcast_to(out, graph.tensors[node.outputs[0]].shape).copy()]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        fields = self.emit_common(node, graph, ctx) + [
            (key, str(int(p[key]))) for key in ("input1_offset", "input2_offset", "output_offset",
                                                "output_multiplier", "output_shift")
        ] + [("activation_min", str(p["act_min"])), ("activation_max", str(p["act_max"]))]
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.inputs[1]),
                       ctx.pointer(node.outputs[0])])
