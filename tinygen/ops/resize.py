"""Resize (opset 10 to 19) and Upsample (opset 7 / 9, which the loader upgrades to Resize) of feature maps:
nearest with every nearest_mode, linear (bilinear) with every coordinate_transformation_mode but
tf_crop_and_resize, from scales or sizes; over H and W of [N, C, H, W] or L of [N, C, L].

Where each output row and column reads from depends only on shapes and attributes, so it is computed at
compile time, once per row and per column, exactly as onnxruntime computes it (float32 coordinates,
upsamplebase.h): the original coordinate of output index x under the coordinate transformation, then
  * nearest: its input index by the nearest_mode rounding, clamped to the input;
  * linear: the coordinate clamped to [0, in - 1], its two neighbours x0 = trunc, x1 = min(x0 + 1, in - 1),
    and the weight of x1, (coordinate - x0), as a 10-bit fixed-point fraction w in [0, 1024].
The kernels read those tables. Nearest copies values (TFLite's RESIZE_NEAREST_NEIGHBOR: no arithmetic).
Linear is TFLite's int8 RESIZE_BILINEAR arithmetic: the raw int8 values (input and output share their
quantization, so interpolating q is interpolating the real values) weighted by
(1024 - wy)(1024 - wx), wy (1024 - wx), (1024 - wy) wx and wy wx, summed (|sum| <= 128 * 2^20, int32), and
divided by 2^20 rounding half away from zero. TFLite derives its coordinates from a 10-bit scale
((1024 in + out / 2) / out); tinygen rounds onnxruntime's exact fraction to 10 bits instead, which
agrees for the usual integer factors and follows the ONNX model where they differ.

Models of opset < 11 (Upsample, Resize-10) meant asymmetric coordinates and, for nearest, truncation
when enlarging (ceil when shrinking: onnxruntime's rule for them). onnx's version converter turns them
into Resize-13 without those attributes, i.e. half_pixel: so a Resize in a model the loader upgraded from
opset < 11 keeps its original meaning here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir import Graph, Node, kernel_dims
from .base import Kernel, Op, Unsupported, onnx_op, register

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

WEIGHT_BITS = 10  # TFLite's RESIZE_BILINEAR: interpolation weights in 1/1024 steps
ONE = 1 << WEIGHT_BITS

COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                    "tf_half_pixel_for_nn")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
LEGACY = "legacy"  # opset < 11: truncation when enlarging, ceil when shrinking


def original_coordinates(mode: str, out_size: int, in_size: int, scale: float) -> np.ndarray:
    """The input coordinate of each output index, in float32 as onnxruntime computes it."""
    f = np.float32
    x = np.arange(out_size, dtype=f)
    s = f(scale)
    half = f(0.5)
    if mode == "half_pixel":
        return (x + half) / s - half
    if mode == "half_pixel_symmetric":
        adjustment = f(out_size) / (s * f(in_size))
        center = f(in_size) / f(2)
        offset = center * (f(1) - adjustment)
        return offset + (x + half) / s - half
    if mode == "pytorch_half_pixel":
        return (x + half) / s - half if out_size > 1 else np.zeros(out_size, f)
    if mode == "asymmetric":
        return x / s
    if mode == "tf_half_pixel_for_nn":
        return (x + half) / s
    if mode == "align_corners":
        return x * f(in_size - 1) / f(out_size - 1) if out_size > 1 else np.zeros(out_size, f)
    raise Unsupported(f"coordinate_transformation_mode '{mode}' is not supported")


def nearest_indices(coordinates: np.ndarray, nearest_mode: str, in_size: int, scale: float) -> np.ndarray:
    c = coordinates.astype(np.float64)  # exact: float32 -> float64 loses nothing
    if nearest_mode == "round_prefer_floor":
        index = np.where(c - np.floor(c) == 0.5, np.floor(c), np.round(c))
    elif nearest_mode == "round_prefer_ceil":
        index = np.floor(c + 0.5)
    elif nearest_mode == "floor":
        index = np.floor(c)
    elif nearest_mode == "ceil":
        index = np.ceil(c)
    elif nearest_mode == LEGACY:
        index = np.ceil(c) if scale < 1 else np.trunc(c)
    else:
        raise Unsupported(f"nearest_mode '{nearest_mode}' is not supported")
    return np.clip(index, 0, in_size - 1).astype(np.int64)


def linear_taps(coordinates: np.ndarray, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x0, x1, w): the two neighbours of each clamped coordinate and the 10-bit weight of x1."""
    clamped = np.clip(coordinates, np.float32(0), np.float32(in_size - 1))
    x0 = np.minimum(clamped.astype(np.int64), in_size - 1)
    x1 = np.minimum(x0 + 1, in_size - 1)
    fraction = (clamped - x0.astype(np.float32)).astype(np.float64)
    weight = np.floor(fraction * ONE + 0.5).astype(np.int64)
    return x0, x1, np.where(x0 == x1, 0, weight)


def _constant(value: Value | None, what: str) -> np.ndarray | None:
    """A constant input, or None when absent or empty ("" inputs of opset 11+ are absent)."""
    if value is None:
        return None
    if value.const is None:
        raise Unsupported(f"the {what} are computed at run time; tinygen needs constant {what}")
    array = np.asarray(value.const).reshape(-1)
    return array if array.size else None


@onnx_op("Resize", layout="spatial",
         constraints="nearest (any nearest_mode) or linear over H, W (or L) of a feature map; constant scales "
                     "or sizes; any coordinate_transformation_mode but tf_crop_and_resize; no antialias")
def Resize(ctx: ImportContext, X: Value, roi: Value | None = None, scales: Value | None = None,
           sizes: Value | None = None, *, antialias: int = 0, axes: list[int] | None = None,
           coordinate_transformation_mode: str = "half_pixel", cubic_coeff_a: float = -0.75,
           exclude_outside: int = 0, extrapolation_value: float = 0.0, keep_aspect_ratio_policy: str = "stretch",
           mode: str = "nearest", nearest_mode: str = "round_prefer_floor") -> None:
    if X.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    if mode not in ("nearest", "linear"):
        raise Unsupported(f"mode '{mode}' is not supported (nearest and linear are)")
    if antialias:
        raise Unsupported("antialias=1 is not supported", hint="export the resize without antialiasing")
    if keep_aspect_ratio_policy != "stretch" and sizes is not None:
        raise Unsupported(f"keep_aspect_ratio_policy '{keep_aspect_ratio_policy}' is not supported ('stretch' is)")
    if X.rank not in (3, 4):
        raise Unsupported(f"resizing a rank-{X.rank} tensor is not supported (feature maps [N, C, H, W] or "
                          "[N, C, L] are)")
    legacy = ctx.loaded.upgraded_from is not None and ctx.loaded.upgraded_from < 11
    if legacy:  # Upsample-7/9 or Resize-10 as the version converter rewrote it (module docstring)
        coordinate_transformation_mode, nearest_mode = "asymmetric", LEGACY
    if coordinate_transformation_mode not in COORDINATE_MODES:
        raise Unsupported(f"coordinate_transformation_mode '{coordinate_transformation_mode}' is not supported")
    if mode == "nearest" and nearest_mode not in (*NEAREST_MODES, LEGACY):
        raise Unsupported(f"nearest_mode '{nearest_mode}' is not supported")
    out = ctx.output_value(ctx.output_name)
    chosen = [int(a) % X.rank for a in axes] if axes else list(range(X.rank))
    scale_values, size_values = _constant(scales, "scales"), _constant(sizes, "sizes")
    full_scales = [1.0] * X.rank
    for index, axis in enumerate(chosen):
        if size_values is not None:
            full_scales[axis] = float(np.float32(size_values[index]) / np.float32(X.shape[axis]))
        elif scale_values is not None:
            full_scales[axis] = float(np.float32(scale_values[index]))
        else:
            raise Unsupported("neither scales nor sizes are given")
    moved = [axis for axis in range(2) if out.shape[axis] != X.shape[axis] or full_scales[axis] != 1.0]
    if moved:
        names = ", ".join(f"axis {a} ({'batch' if a == 0 else 'channels'}: scale {full_scales[a]:g})"
                          for a in moved)
        raise Unsupported(f"resizing {names} of {list(X.shape)} is not supported; only the spatial axes "
                          f"{list(range(2, X.rank))} are")
    spatial = list(range(2, X.rank))
    tables: dict[str, list[int]] = {}
    for axis, prefix in zip(spatial, ("y", "x") if X.rank == 4 else ("x",), strict=True):
        coordinates = original_coordinates(coordinate_transformation_mode, out.shape[axis], X.shape[axis],
                                           full_scales[axis])
        if mode == "nearest":
            tables[f"{prefix}0"] = nearest_indices(coordinates, nearest_mode, X.shape[axis],
                                                   full_scales[axis]).tolist()
        else:
            x0, x1, weight = linear_taps(coordinates, X.shape[axis])
            tables.update({f"{prefix}0": x0.tolist(), f"{prefix}1": x1.tolist(), f"w{prefix}": weight.tolist()})
    if X.rank == 3:  # a 1-D map is stored [N, 1, L, C]: one row
        tables.update({"y0": [0], "y1": [0], "wy": [0]} if mode == "linear" else {"y0": [0]})
    ctx.emit("resize", [X.runtime], [out.runtime], mode=mode, **tables)


def _nearest_kernel(node: Node, graph: Graph) -> bool:
    return bool(node.attrs["mode"] == "nearest")


def _linear_kernel(node: Node, graph: Graph) -> bool:
    return bool(node.attrs["mode"] == "linear")


def resize_linear(x: np.ndarray, y0: np.ndarray, y1: np.ndarray, wy: np.ndarray, x0: np.ndarray, x1: np.ndarray,
                  wx: np.ndarray) -> np.ndarray:
    """TFLite's int8 bilinear interpolation on [H, W, C] with per-row and per-column taps (module docstring)."""
    v = x.astype(np.int64)
    wy, wx = wy[:, None, None], wx[None, :, None]
    total = (v[np.ix_(y0, x0)] * (ONE - wy) * (ONE - wx) + v[np.ix_(y1, x0)] * wy * (ONE - wx)
             + v[np.ix_(y0, x1)] * (ONE - wy) * wx + v[np.ix_(y1, x1)] * wy * wx)
    half = 1 << (2 * WEIGHT_BITS - 1)
    rounded = total + np.where(total > 0, half, -half)
    return (np.sign(rounded) * (np.abs(rounded) >> (2 * WEIGHT_BITS))).astype(np.int8)  # C division truncates


@register
class ResizeOp(Op):
    name = "resize"
    summary = "nearest (copies) or bilinear (TFLite RESIZE_BILINEAR int8, 10-bit weights) resize of H and W"
    kernels = (Kernel("tg_resize_nearest_s8", "tg_resize_params", applies=_nearest_kernel),
               Kernel("tg_resize_bilinear_s8", "tg_resize_params", applies=_linear_kernel))
    output_quant = "input"  # values are moved or interpolated between, never rescaled

    def quantize(self, node: Node, graph: Graph) -> None:
        node.params = {}

    def _table(self, node: Node, key: str) -> np.ndarray:
        return np.asarray(node.attrs[key], np.int64)

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        shape = graph.tensors[node.outputs[0]].shape
        x = inputs[0].reshape(kernel_dims(graph.tensors[node.inputs[0]].shape))[0]
        y0, x0 = self._table(node, "y0"), self._table(node, "x0")
        if node.attrs["mode"] == "nearest":
            out = x[np.ix_(y0, x0)]
        else:
            out = resize_linear(x, y0, self._table(node, "y1"), self._table(node, "wy"), x0, self._table(node, "x1"),
                                self._table(node, "wx"))
        return [out.reshape(shape)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        linear = node.attrs["mode"] == "linear"
        fields = [("input", ctx.dims(node.inputs[0])), ("output", ctx.dims(node.outputs[0]))]
        for key in ("y0", "y1", "wy", "x0", "x1", "wx"):
            if linear or key in ("y0", "x0"):
                what = "10-bit weight of the second tap" if key.startswith("w") else "input index"
                fields.append((key, ctx.array(key, self._table(node, key).astype(np.int16),
                                              f"{what} of each output {'row' if 'y' in key else 'column'}")))
            else:
                fields.append((key, "NULL"))
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])

    def macs(self, node: Node, graph: Graph) -> int:
        """Bilinear: four products per output value (nearest copies)."""
        return 4 * graph.tensors[node.outputs[0]].size if node.attrs["mode"] == "linear" else 0

