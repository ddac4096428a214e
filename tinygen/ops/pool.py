"""Pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, and ReduceMean / ReduceMax
over the spatial axes (the global forms; ops/reduce.py imports those).

Max pooling moves values without arithmetic, so input and output share quantization.

Average pooling has two arithmetics (node.params "mean"):
- "average", for models that arrive quantized (QDQ, AVERAGE_POOL_2D of a .tflite): TFLite's
  AVERAGE_POOL_2D, the sum of the raw int8 values of the window divided by the number of values
  counted, rounded half away from zero; with ONNX count_include_pad=1 the padded positions count
  as the input zero point (real 0). When the model gives the output other parameters than the
  input's, the average is requantized afterwards (a second rounding).
- "mean", for float models (the output gets its own calibrated parameters: the mean's range is
  finer than its input's) and TFLite MEAN over H, W: TFLM's integer mean, one requantization of
  the sum. acc = sum(q - zp_in) (padded taps of count_include_pad add 0), n = the count;
  (M, shift) = QuantizeMultiplier(s_in / s_out); sh = min(floor(log2 n), 32, 31 + shift);
  out = zp_out + MultiplyByQuantizedMultiplier(acc, (M << sh) // n, shift - sh): the division by n
  is folded into the multiplier (truncated, keeping >= 30 significant bits), then one double
  rounding (mean_multiplier below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..cformat import c_init
from ..errors import TinygenError
from ..ir import Graph, Node
from .base import Kernel, Op, Unsupported, onnx_op, register
from .common import Window, input_quant, output_quant, spatial_window
from .conv import window_attrs, window_of

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


def _pool(ctx: ImportContext, op: str, X: Value, window: Window, **attrs: object) -> None:
    if X.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    if X.rank not in (3, 4):
        raise Unsupported(f"pooling a rank-{X.rank} tensor is not supported")
    node = ctx.node
    assert node is not None
    if len(node.output) > 1 and node.output[1]:
        raise Unsupported("the Indices output is not supported")
    out = ctx.output_value(node.output[0])
    out_h, out_w = out.physical_shape[1:3] if len(out.physical_shape) == 4 else (1, 1)
    if not window.ceil_mode and window.output_size(*X.physical_shape[1:3]) != (out_h, out_w):
        raise Unsupported("the pooled size does not match the window arithmetic")
    ctx.emit(op, [X.runtime], [out.runtime], **window_attrs(window), **attrs)


@onnx_op("MaxPool", layout="spatial", constraints="1-D or 2-D; any kernel, stride, dilation, pads, ceil_mode; "
                                "no Indices output")
def MaxPool(ctx: ImportContext, X: Value, *, auto_pad: str = "NOTSET", ceil_mode: int = 0,
            dilations: list[int] | None = None, kernel_shape: list[int] | None = None,
            pads: list[int] | None = None, storage_order: int = 0, strides: list[int] | None = None) -> None:
    window = spatial_window(X.shape, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    _pool(ctx, "max_pool", X, window)


@onnx_op("AveragePool", layout="spatial", constraints="1-D or 2-D; any kernel, stride, dilation, pads, ceil_mode, "
                                    "count_include_pad")
def AveragePool(ctx: ImportContext, X: Value, *, auto_pad: str = "NOTSET", ceil_mode: int = 0,
                count_include_pad: int = 0, dilations: list[int] | None = None,
                kernel_shape: list[int] | None = None, pads: list[int] | None = None,
                strides: list[int] | None = None) -> None:
    window = spatial_window(X.shape, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    _pool(ctx, "avg_pool", X, window, count_include_pad=bool(count_include_pad))


def _global_window(X: Value) -> Window:
    height, width = X.physical_shape[1:3]
    return Window((height, width), (1, 1), (1, 1), (0, 0, 0, 0))


@onnx_op("GlobalAveragePool", layout="spatial", constraints="")
def GlobalAveragePool(ctx: ImportContext, X: Value) -> None:
    _pool(ctx, "avg_pool", X, _global_window(X), count_include_pad=False)


@onnx_op("GlobalMaxPool", layout="spatial", constraints="")
def GlobalMaxPool(ctx: ImportContext, X: Value) -> None:
    _pool(ctx, "max_pool", X, _global_window(X))


def global_pool(ctx: ImportContext, op: str, data: Value) -> None:
    """ReduceMean / ReduceMax over exactly the spatial axes of a feature map (ops/reduce.py): a global pool."""
    _pool(ctx, op, data, _global_window(data), **({"count_include_pad": False} if op == "avg_pool" else {}))


def _input_window_view(node: Node, graph: Graph, x: np.ndarray, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of x [1, H, W, C] for every output position -> (values [1,OH,OW,KH,KW,C],
    in_input mask [OH,OW,KH,KW]): taps outside the input hold `fill`."""
    window = window_of(node)
    out = graph.tensors[node.outputs[0]].shape
    n, height, width, channels = graph.tensors[node.inputs[0]].shape
    out_h, out_w = (out[1], out[2]) if len(out) == 4 else (1, 1)
    kh, kw = window.kernel
    (sh, sw), (dh, dw) = window.stride, window.dilation
    top, left = window.pads[0], window.pads[1]
    ys = (np.arange(out_h) * sh - top)[:, None] + np.arange(kh)[None, :] * dh  # [OH, KH]
    xs = (np.arange(out_w) * sw - left)[:, None] + np.arange(kw)[None, :] * dw  # [OW, KW]
    valid_y = (ys >= 0) & (ys < height)
    valid_x = (xs >= 0) & (xs < width)
    mask = valid_y[:, None, :, None] & valid_x[None, :, None, :]  # [OH, OW, KH, KW]
    values = x.reshape(n, height, width, channels)[:, np.clip(ys, 0, height - 1)[:, None, :, None],
                                                   np.clip(xs, 0, width - 1)[None, :, None, :], :]
    values = np.where(mask[None, ..., None], values, fill)
    return values, mask


def _padded_counts(node: Node, graph: Graph) -> np.ndarray:
    """count_include_pad: per output position, the taps inside the padded input [OH, OW]."""
    window = window_of(node)
    out = graph.tensors[node.outputs[0]].shape
    _, height, width, _ = graph.tensors[node.inputs[0]].shape
    out_h, out_w = (out[1], out[2]) if len(out) == 4 else (1, 1)
    top, left, bottom, right = window.pads
    ys = (np.arange(out_h) * window.stride[0] - top)[:, None] + np.arange(window.kernel[0]) * window.dilation[0]
    xs = (np.arange(out_w) * window.stride[1] - left)[:, None] + np.arange(window.kernel[1]) * window.dilation[1]
    in_y = ((ys >= -top) & (ys < height + bottom)).sum(axis=1)
    in_x = ((xs >= -left) & (xs < width + right)).sum(axis=1)
    return (in_y[:, None] * in_x[None, :]).astype(np.int64)


def mean_multiplier(multiplier: int, shift: int, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TFLM's MEAN: the requantization (multiplier, shift) of s_in / s_out divided by count (>= 1), as
    (M << sh) // count with sh = min(floor(log2 count), 32, 31 + shift); M << sh < 2^63, and the
    quotient < 2^31 since 2^sh <= count."""
    count = np.asarray(count, dtype=np.int64)
    log2 = np.floor(np.log2(count)).astype(np.int64)  # exact: counts are far below 2^52
    sh = np.minimum(np.minimum(log2, 32), 31 + shift)
    return (np.int64(multiplier) << sh) // count, shift - sh


class _PoolBase(Op):
    def macs(self, node: Node, graph: Graph) -> int:
        """One MAC-equivalent per window element per output value: the additions of an average pool,
        the comparisons of a max pool (padded positions included, as the window is kh x kw). This is
        how Silicon Labs' MLTK profiler counts TFLite's MAX_POOL_2D (mltk/core/model/metrics/layers/
        pooling.py; its AVERAGE_POOL_2D count adds one op per output for the division, which is not
        an accumulation and is left out here); ReduceMean/ReduceSum count alike (ops/reduce.py)."""
        kh, kw = window_of(node).kernel
        return int(np.prod(graph.tensors[node.outputs[0]].shape)) * kh * kw

    def pool_fields(self, node: Node, graph: Graph, ctx: EmitContext) -> list[tuple[str, str]]:
        window = window_of(node)
        return [("input", ctx.dims(node.inputs[0])), ("output", ctx.dims(node.outputs[0])),
                ("kernel", c_init(window.kernel)), ("stride", c_init(window.stride)),
                ("dilation", c_init(window.dilation)), ("padding", c_init(window.pads))]


@register
class MaxPoolOp(_PoolBase):
    name = "max_pool"
    summary = "max pooling (padding ignored, as -infinity)"
    kernels = (Kernel("tg_max_pool_s8", "tg_pool_params"),
               Kernel("tg_max_pool_s16", "tg_pool_params", activations="int16"))  # 16x8 (tg_s16.h)
    output_quant = "input"
    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        node.params = {}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        dtype = inputs[0].dtype
        values, _ = _input_window_view(node, graph, inputs[0], int(np.iinfo(dtype).min))
        out = values.max(axis=(3, 4)).astype(dtype)
        return [out.reshape(graph.tensors[node.outputs[0]].shape)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        return ctx.call(self.pool_fields(node, graph, ctx),
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])


@register
class AvgPoolOp(_PoolBase):
    name = "avg_pool"
    summary = "average pooling, TFLite rounding; ONNX count_include_pad semantics"
    kernels = (Kernel("tg_avg_pool_fast_s8", "tg_pool_params"),  # falls back to tg_avg_pool_s8
               Kernel("tg_avg_pool_s16", "tg_pool_params", activations="int16"))  # 16x8 (tg_s16.h)
    activation_precisions = ("int8", "int16")
    # A float model's pool gets a calibrated output (attrs "output_calibrated") and the "mean"
    # arithmetic; a quantized model's keeps its parameters and "average" (module docstring).
    output_quant = "input_or_calibrated"
    rescales_output = True

    def quantize(self, node: Node, graph: Graph) -> None:
        in_scale, in_zp = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        # attrs "mean": set by the TFLite MEAN mapping; "output_calibrated": by quantize_graph.
        mean = bool(node.attrs.get("mean", False) or node.attrs.get("output_calibrated", False))
        rescale = not mean and not (np.float32(in_scale) == np.float32(out_scale) and in_zp == out_zp)
        multiplier, shift = arith.quantize_multiplier(np.float64(in_scale) / np.float64(out_scale)) \
            if rescale or mean else (0, 0)
        kernel = node.attrs["kernel"]
        if graph.tensors[node.outputs[0]].dtype == "int16":
            _check_s16(node, rescale, multiplier, shift, int(np.prod(kernel)))
        if rescale and 255 * int(np.prod(kernel)) * np.float64(in_scale) / np.float64(out_scale) >= 2 ** 31:
            # The kernel rescales the window's sum (|sum| <= 255 taps) before dividing: it must fit int32.
            raise TinygenError(f"node '{node.name}': average pooling a {kernel} window into a "
                               f"{in_scale / out_scale:.3g}x finer output scale overflows int32")
        node.params = {"input_zero_point": in_zp, "output_offset": out_zp, "rescale": rescale, "mean": mean,
                       "multiplier": multiplier, "shift": shift,
                       "count_include_pad": bool(node.attrs.get("count_include_pad", False))}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        values, mask = _input_window_view(node, graph, inputs[0], 0)
        total = values.astype(np.int64).sum(axis=(3, 4))  # [1, OH, OW, C]
        if p["mean"]:  # TFLM's integer mean: one requantization of sum(q - zp_in)
            inside = mask.sum(axis=(2, 3)).astype(np.int64)
            count = _padded_counts(node, graph) if p["count_include_pad"] else inside
            multiplier, shift = mean_multiplier(p["multiplier"], p["shift"], np.maximum(count, 1))
            acc = total - (inside * p["input_zero_point"])[None, :, :, None]
            out = arith.multiply_by_quantized_multiplier(acc, multiplier[None, :, :, None], shift[None, :, :, None])
            low, high = np.iinfo(inputs[0].dtype).min, np.iinfo(inputs[0].dtype).max
            out = np.clip(out + p["output_offset"], low, high).astype(inputs[0].dtype)
            return [out.reshape(graph.tensors[node.outputs[0]].shape)]
        if p["count_include_pad"]:
            count = _padded_counts(node, graph)
            total = total + (count - mask.sum(axis=(2, 3)))[None, :, :, None] * p["input_zero_point"]
        else:
            count = mask.sum(axis=(2, 3)).astype(np.int64)
        count = np.maximum(count, 1)[None, :, :, None]
        # Round half away from zero, as TFLite: (acc +- count/2) / count with C truncation.
        if p["rescale"]:
            # Rescale the sum, then divide: one rounding to the output step (see tg_avg_pool_s8.c).
            scaled = arith.multiply_by_quantized_multiplier(total - count * p["input_zero_point"],
                                                            p["multiplier"], p["shift"])
            average = _divide_rounding_away(scaled, count) + p["output_offset"]
        else:
            average = _divide_rounding_away(total, count)
        info = np.iinfo(inputs[0].dtype)  # int8, or int16 (16x8)
        out = np.clip(average, info.min, info.max).astype(inputs[0].dtype)
        return [out.reshape(graph.tensors[node.outputs[0]].shape)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        fields = [
            *self.pool_fields(node, graph, ctx),
            ("count_include_pad", "1" if p["count_include_pad"] else "0"),
            ("input_zero_point", str(p["input_zero_point"])),
            ("rescale", "1" if p["rescale"] else "0"),
            ("multiplier", str(p["multiplier"])), ("shift", str(p["shift"])),
            ("output_offset", str(p["output_offset"])),
        ]
        if p["mean"]:  # left out (zero) otherwise: quantized models' code stays as it was
            fields.append(("mean", "1"))
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])


def _check_s16(node: Node, rescale: bool, multiplier: int, shift: int, taps: int) -> None:
    """tg_avg_pool_s16 averages (output parameters = input's) or takes the mean; its sum of int16 values, at most
    2^15 taps, shifted left by the mean's requantization must stay in int32."""
    if rescale:
        raise TinygenError(f"node '{node.name}': an int16 average pool whose output has other parameters than its "
                           "input is not supported", hint="TFLite's 16x8 AVERAGE_POOL_2D keeps the input's.")
    left = max(0, shift - int(np.floor(np.log2(max(taps, 1))))) if multiplier else 0
    if (2**15 * taps) << left >= 2**31:
        raise TinygenError(f"node '{node.name}': the int16 mean of {taps} taps would overflow int32")


def _divide_rounding_away(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """total / count rounded half away from zero, as the C kernels' (x +- count/2) / count with truncation."""
    half = count // 2
    numerator = np.where(total > 0, total + half, total - half)
    return np.sign(numerator) * (np.abs(numerator) // count)
