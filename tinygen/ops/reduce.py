"""ReduceMean, ReduceMax, ReduceMin and ReduceSum over any set of axes, keepdims either way, axes as an
attribute (opset < 18; ReduceSum < 13) or a constant input.

ReduceMean / ReduceMax over exactly the spatial axes of a feature map are global average / max pooling and
stay on those kernels (ops/pool.py). Every other reduction runs tg_reduce_s8 on the tensor as it is stored:
its 4-D storage view [d0, d1, d2, d3] with the reduced storage axes flagged, the result in the same order
with those axes of size 1. Arithmetic, TFLite's REDUCE_MAX / REDUCE_MIN / SUM / MEAN int8 recipes:
  * max, min: the raw values are compared (output parameters = input's: values are only moved);
  * sum: acc = sum (q - zp_in) in int32 (|q - zp_in| <= 255, so up to 2^23 values), requantized once by
    s_in / s_out;
  * mean: the same sum requantized by s_in / (count * s_out) -- one rounding; a .tflite MEAN (attrs
    tflm_mean) takes TFLM's multiplier for it instead, QuantizeMultiplier(s_in / s_out) with the division by
    the count folded in by truncation (pool.mean_multiplier, TFLM's QuantizedMeanOrSumExtraArgs): the same
    kernel, another multiplier.
When the stored order of the kept axes differs from the order the output is stored in (keepdims=0 dropping
an axis of a channels-last map, say), the input is transposed first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..cformat import c_init
from ..ir import Graph, Layout, Node, broadcast_dims
from .base import Kernel, Op, Unsupported, onnx_op, register
from .common import input_quant, output_quant
from .pool import global_pool, mean_multiplier

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

KINDS = ("mean", "max", "min", "sum")


def _storage_axes(value_rank: int, layout: Layout) -> list[int | None]:
    """ONNX axis of each stored axis (None: a unit axis the storage adds, a 1-D map's H)."""
    if layout is Layout.CHANNELS_LAST:
        return [0, 2, 3, 1] if value_rank == 4 else [0, None, 2, 1]
    return list(range(value_rank))


def _reduce(ctx: ImportContext, kind: str, data: Value, axes: Value | None, axes_attr: list[int] | None,
            keepdims: int, noop_with_empty_axes: int) -> None:
    if data.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    if axes is not None and axes.const is None:
        raise Unsupported("the axes are computed at run time; tinygen needs constant axes")
    chosen = [int(a) for a in np.asarray(axes.const).reshape(-1)] if axes is not None else list(axes_attr or [])
    if not chosen and noop_with_empty_axes:
        ctx.alias(ctx.output_name, data)  # ONNX: an empty reduction with noop_with_empty_axes is the identity
        return
    if any(not -data.rank <= a < data.rank for a in chosen):
        raise Unsupported(f"axes {chosen} are out of range for the input {list(data.shape)}")
    reduced = sorted({a % data.rank for a in chosen}) if chosen else list(range(data.rank))
    if (kind in ("mean", "max") and data.layout is Layout.CHANNELS_LAST
            and reduced == list(range(2, data.rank))):
        global_pool(ctx, "avg_pool" if kind == "mean" else "max_pool", data)  # what it is: a global pool
        return
    if data.rank > 4:
        raise Unsupported(f"reducing a rank-{data.rank} tensor is not supported (rank <= 4 is)")
    out = ctx.output_value(ctx.output_name)
    stored = _storage_axes(data.rank, data.layout)
    physical = data.physical_shape
    flags = [axis is not None and axis in reduced for axis in stored]
    # The result in storage order, as ONNX axes; and the order the output is stored in, as input axes.
    result_order = [a for a, flag in zip(stored, flags, strict=True) if a is not None and not flag]
    kept_axes = [a for a in range(data.rank) if a not in reduced]
    out_axes = [a for a in _storage_axes(out.rank, out.layout) if a is not None]
    out_order = out_axes if keepdims else [kept_axes[a] for a in out_axes]
    if keepdims:
        out_order = [a for a in out_order if a not in reduced]
    pad = 4 - len(physical)
    view, flags4 = list(broadcast_dims(physical)), [False] * pad + flags
    op = "reduce_minmax" if kind in ("max", "min") else "reduce"
    source = data.runtime
    if result_order != out_order:
        # The kept axes lie in another order in the output's storage: permute the input first (a copy whose
        # parameters are the input's), so that the reduction leaves them in that order.
        position = {a: pad + k for k, a in enumerate(stored) if a is not None and not flags[k]}
        moved = [position[a] for a in out_order]
        perm = [k for k in range(4) if k not in moved] + moved  # reduced and unit axes first, in order
        view, flags4 = [view[k] for k in perm], [flags4[k] for k in perm]
        source = ctx.intermediate(f"{out.name}_permuted", tuple(view), Layout.PLAIN, tuple(view))
        ctx.emit("transpose", [data.runtime], [source], perm=perm, view=list(broadcast_dims(physical)))
    ctx.emit(op, [source], [out.runtime], kind=kind, view=view, reduce=flags4)


@onnx_op("ReduceMean", constraints="any axes, keepdims either way; over H and W of a feature map: a global "
                                   "average pool; axes as attribute (opset < 18) or constant input")
def ReduceMean(ctx: ImportContext, data: Value, axes: Value | None = None, *, keepdims: int = 1,
               noop_with_empty_axes: int = 0, axes_attr: list[int] | None = None) -> None:
    _reduce(ctx, "mean", data, axes, axes_attr, keepdims, noop_with_empty_axes)


@onnx_op("ReduceMax", constraints="any axes, keepdims either way; over H and W of a feature map: a global max pool")
def ReduceMax(ctx: ImportContext, data: Value, axes: Value | None = None, *, keepdims: int = 1,
              noop_with_empty_axes: int = 0, axes_attr: list[int] | None = None) -> None:
    _reduce(ctx, "max", data, axes, axes_attr, keepdims, noop_with_empty_axes)


@onnx_op("ReduceMin", constraints="any axes, keepdims either way")
def ReduceMin(ctx: ImportContext, data: Value, axes: Value | None = None, *, keepdims: int = 1,
              noop_with_empty_axes: int = 0, axes_attr: list[int] | None = None) -> None:
    _reduce(ctx, "min", data, axes, axes_attr, keepdims, noop_with_empty_axes)


@onnx_op("ReduceSum", constraints="any axes, keepdims either way; axes as a constant input (or attribute, "
                                  "opset < 13)")
def ReduceSum(ctx: ImportContext, data: Value, axes: Value | None = None, *, keepdims: int = 1,
              noop_with_empty_axes: int = 0, axes_attr: list[int] | None = None) -> None:
    _reduce(ctx, "sum", data, axes, axes_attr, keepdims, noop_with_empty_axes)


class _ReduceBase(Op):
    kernels = (Kernel("tg_reduce_s8", "tg_reduce_params"),)

    def count(self, node: Node) -> int:
        return int(np.prod([d for d, flag in zip(node.attrs["view"], node.attrs["reduce"], strict=True) if flag]))

    def quantize(self, node: Node, graph: Graph) -> None:
        in_scale, in_zp = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        kind = node.attrs["kind"]
        real = np.float64(in_scale) / np.float64(out_scale)
        if kind == "mean" and not node.attrs.get("tflm_mean"):
            real /= self.count(node)
        # max / min compare raw values; only other output parameters (a QDQ model's) need a requantization.
        rescale = kind in ("mean", "sum") or not (np.float32(in_scale) == np.float32(out_scale) and in_zp == out_zp)
        multiplier, shift = arith.quantize_multiplier(float(real)) if rescale else (0, 0)
        if kind == "mean" and node.attrs.get("tflm_mean"):
            folded, moved = mean_multiplier(multiplier, shift, np.array(self.count(node)))
            multiplier, shift = int(folded), int(moved)
        node.params = {"input_offset": -in_zp, "output_offset": out_zp, "rescale": rescale,
                       "multiplier": multiplier, "shift": shift}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p, kind = node.params, node.attrs["kind"]
        x = inputs[0].reshape(node.attrs["view"]).astype(np.int64)
        axes = tuple(k for k, flag in enumerate(node.attrs["reduce"]) if flag)
        if kind == "max":
            value = x.max(axis=axes, keepdims=True)
        elif kind == "min":
            value = x.min(axis=axes, keepdims=True)
        else:
            value = (x + p["input_offset"]).sum(axis=axes, keepdims=True)
        if p["rescale"]:
            if kind in ("max", "min"):
                value = value + p["input_offset"]
            value = arith.multiply_by_quantized_multiplier(value, p["multiplier"], p["shift"]) + p["output_offset"]
        out = np.clip(value, -128, 127).astype(np.int8)
        return [out.reshape(graph.tensors[node.outputs[0]].shape)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p, kind = node.params, node.attrs["kind"]
        fields = [("input", c_init(node.attrs["view"])),
                  ("reduce", c_init([int(flag) for flag in node.attrs["reduce"]])),
                  ("kind", f"TG_REDUCE_{kind.upper()}"),
                  ("input_offset", str(p["input_offset"])), ("output_offset", str(p["output_offset"])),
                  ("rescale", "1" if p["rescale"] else "0"),
                  ("multiplier", str(p["multiplier"])), ("shift", str(p["shift"]))]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])


@register
class ReduceOp(_ReduceBase):
    name = "reduce"
    summary = "mean or sum over any axes, TFLite int8 MEAN / SUM (one requantization of the sum)"

    def macs(self, node: Node, graph: Graph) -> int:
        return int(np.prod(node.attrs["view"]))


@register
class ReduceMinMaxOp(_ReduceBase):
    name = "reduce_minmax"
    summary = "max or min over any axes, TFLite int8 REDUCE_MAX / REDUCE_MIN (values compared, not rescaled)"
    output_quant = "input"
    rescales_output = True
