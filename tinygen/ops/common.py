"""Helpers shared by several op modules: ONNX spatial attributes, quantization of weights and
fused activations, and numpy building blocks of the golden kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..errors import TinygenError
from ..ir import Graph, Node, QuantParams, Tensor
from .base import Unsupported

if TYPE_CHECKING:
    from .emit import EmitContext

# --- ONNX spatial attributes -------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A 2-D sliding window: kernel, stride, dilation and padding (top, left, bottom, right)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]
    ceil_mode: bool = False

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return (_out_len(height, self.kernel[0], self.stride[0], self.dilation[0], self.pads[0],
                         self.pads[2], self.ceil_mode),
                _out_len(width, self.kernel[1], self.stride[1], self.dilation[1], self.pads[1],
                         self.pads[3], self.ceil_mode))


def _out_len(size: int, kernel: int, stride: int, dilation: int, begin: int, end: int,
             ceil_mode: bool) -> int:
    span = dilation * (kernel - 1) + 1
    if ceil_mode:
        return math.ceil((size + begin + end - span) / stride) + 1
    return (size + begin + end - span) // stride + 1


def spatial_window(input_shape: tuple[int, ...], kernel_shape: list[int] | None,
                   strides: list[int] | None, dilations: list[int] | None, pads: list[int] | None,
                   auto_pad: str, ceil_mode: int = 0) -> Window:
    """ONNX Conv/Pool attributes of a 1-D or 2-D op as a 2-D Window (1-D becomes height 1)."""
    spatial = len(input_shape) - 2
    if spatial not in (1, 2):
        raise Unsupported(f"{spatial}-D spatial ops are not supported (1-D and 2-D are)")
    if kernel_shape is None:
        raise Unsupported("kernel_shape is required")
    strides = list(strides or [1] * spatial)
    dilations = list(dilations or [1] * spatial)
    sizes = list(input_shape[2:])
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(sizes, list(kernel_shape), strides, dilations, auto_pad == "SAME_UPPER")
    elif auto_pad == "VALID":
        pads = [0] * (2 * spatial)
    elif auto_pad != "NOTSET":
        raise Unsupported(f"auto_pad '{auto_pad}' is not supported")
    pads = list(pads or [0] * (2 * spatial))
    if any(p < 0 for p in pads):
        raise Unsupported("negative pads (cropping) are not supported")
    if spatial == 1:
        kernel_shape = [1, kernel_shape[0]]
        strides, dilations = [1, strides[0]], [1, dilations[0]]
        pads = [0, pads[0], 0, pads[1]]
    k, s, d, p = tuple(kernel_shape), tuple(strides), tuple(dilations), tuple(pads)
    return Window((k[0], k[1]), (s[0], s[1]), (d[0], d[1]), (p[0], p[1], p[2], p[3]), bool(ceil_mode))


def _same_pads(sizes: list[int], kernel: list[int], strides: list[int], dilations: list[int],
               upper: bool) -> list[int]:
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if upper else large)
        ends.append(large if upper else small)
    return begins + ends


# --- quantization helpers ---------------------------------------------------------------------


def input_quant(graph: Graph, node: Node, index: int = 0) -> tuple[float, int]:
    quant = graph.tensors[node.inputs[index]].quant
    assert quant is not None and quant.is_per_tensor, f"{node.name}: input {index} not quantized"
    return quant.scale_value, quant.zero_point_value


def output_quant(graph: Graph, node: Node, index: int = 0) -> tuple[float, int]:
    quant = graph.tensors[node.outputs[index]].quant
    assert quant is not None and quant.is_per_tensor, f"{node.name}: output {index} not quantized"
    return quant.scale_value, quant.zero_point_value


def activation_range(node: Node, graph: Graph) -> tuple[int, int]:
    """The int8 clamp of the node's fused activation (full int8 range when there is none)."""
    scale, zero_point = output_quant(graph, node)
    activation = node.attrs.get("activation")
    if not activation:
        return arith.INT8_MIN, arith.INT8_MAX
    return arith.activation_bounds(activation.get("min"), activation.get("max"), scale, zero_point)


def quantize_weights_and_bias(graph: Graph, node: Node, axis: int, input_scale: float,
                              input_zero_point: int, weights_type: str = "int8") -> tuple[Tensor, Tensor]:
    """Quantize a layer's float weights (symmetric int8 in [-127, 127], or with `weights_type` "int4"
    in [-7, 7], per channel along `axis`) and bias (int32, scale s_in * s_w[c]) in place. Tensors that
    arrive quantized (QDQ) are kept at int8; asked for int4, they are requantized from their real values.
    int4 weights are held unpacked (one int8 per value, dtype "int4": Tensor.nbytes counts them packed).

    A channel whose weights are tiny next to its bias (a dead channel with a bias, say) would
    get a bias beyond int32; its weight scale is raised until the whole accumulator bound fits,
    as TFLite's converter does.
    """
    weights = graph.tensors[node.inputs[1]]
    bias = graph.tensors[node.inputs[2]]
    channels = weights.shape[axis]
    qmax = INT4_MAX if weights_type == "int4" else 127
    if weights.dtype == "int8" and weights.quant is not None and (np.any(weights.quant.zero_point != 0)
                                                                  or weights_type != "int8"):
        # Asymmetric weights (a model's uint8 weights): the kernels take symmetric int8, so the
        # layer is requantized from the real values (it no longer reproduces the model's bytes).
        _to_float(weights)
        _to_float(bias)
    if weights.dtype != weights_type:
        assert weights.data is not None and bias.data is not None
        values = weights.data
        scales = arith.quantize_symmetric(values, axis)[1] if qmax == 127 else _int4_scales(values, axis)
        taps = values.size // channels
        max_input = max(abs(-128 - input_zero_point), abs(127 - input_zero_point))
        limit = float(2**31 - 1 - qmax * max_input * taps)
        if bias.dtype != "int32" and limit > 0:
            needed = np.abs(bias.data.astype(np.float64)) / (np.float64(input_scale) * limit)
            scales = np.maximum(scales.astype(np.float64), needed * (1 + 1e-6)).astype(np.float32)
        shape = [1] * values.ndim
        shape[axis] = -1
        quantized = np.clip(arith.round_half_away_array(values / scales.reshape(shape)), -qmax, qmax)
        weights.data, weights.dtype = quantized.astype(np.int8), weights_type
        weights.quant = QuantParams(scales, np.zeros(channels, np.int32), axis)
    assert weights.quant is not None
    if bias.dtype != "int32":
        assert bias.data is not None
        bias_scales = np.broadcast_to(weights.quant.scale, (channels,)).astype(np.float32)
        bias.data = arith.quantize_bias(bias.data, input_scale, bias_scales)
        bias.dtype = "int32"
        bias.quant = QuantParams((np.float64(input_scale) * bias_scales).astype(np.float32),
                                 np.zeros(channels, np.int32), 0)
    return weights, bias


INT4_MAX = 7  # int4 weights in [-7, 7]: symmetric like int8's [-127, 127] (TFLite's narrow range), so
              # negating a channel is exact; the kernels would read -8 as well (a sign-extended nibble)


INT4_CLIP_RATIOS = np.linspace(0.5, 1.0, 51, dtype=np.float32)  # of max|w|, the clipping ranges tried


def _int4_scales(values: np.ndarray, axis: int) -> np.ndarray:
    """Per-channel float32 scales with the least squared rounding error: with 15 levels, max|w| / 7 spends
    them on a few outliers, so each channel tries clipping at 50 % .. 100 % of max|w| (in 1 % steps) and
    keeps the scale whose quantized weights are closest to the float ones (ties: the larger range). An
    all-zero channel gets scale 1, so nothing divides by 0."""
    moved = np.moveaxis(np.asarray(values, np.float32), axis, 0)
    rows = moved.reshape(moved.shape[0], -1).astype(np.float64)
    max_abs = np.max(np.abs(rows), axis=1)
    candidates = (max_abs[None, :] * INT4_CLIP_RATIOS[:, None].astype(np.float64) / INT4_MAX).astype(np.float32)
    safe = np.where(candidates > 0, candidates, np.float32(1)).astype(np.float64)  # [ratios, channels]
    levels = np.clip(arith.round_half_away_array(rows[None] / safe[..., None]), -INT4_MAX, INT4_MAX)
    errors = np.sum(np.square(levels * safe[..., None] - rows[None]), axis=2)  # [ratios, channels]
    best = len(INT4_CLIP_RATIOS) - 1 - np.argmin(errors[::-1], axis=0)  # the last (largest) of equal errors
    chosen = candidates[best, np.arange(rows.shape[0])]
    return np.where(max_abs > 0, chosen, np.float32(1)).astype(np.float32)


def pack_int4(values: np.ndarray) -> np.ndarray:
    """int4 values (int8 in [-8, 7]) packed two per byte in their flat order, as TFLite's and CMSIS-NN's
    int4 kernels read them: value 2i in the low nibble of byte i, value 2i + 1 in its high nibble, an odd
    last value alone in the low nibble (high nibble 0). Returned as int8 bytes (the C arrays' type)."""
    flat = np.asarray(values, np.int8).reshape(-1).astype(np.uint8) & 0x0F
    if flat.size % 2:
        flat = np.concatenate([flat, np.zeros(1, np.uint8)])
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).view(np.int8)


def unpack_int4(packed: np.ndarray, count: int) -> np.ndarray:
    """The inverse of pack_int4: `count` sign-extended values."""
    raw = np.asarray(packed).view(np.uint8).astype(np.int16)
    nibbles = np.stack([raw & 0x0F, raw >> 4], axis=1).reshape(-1)[:count]
    return ((nibbles ^ 8) - 8).astype(np.int8)


def int4_array(ctx: EmitContext, weights: np.ndarray, comment: str) -> str:
    """A const array of int4 weights packed two per byte in their flat order (pack_int4)."""
    return ctx.array("weights", pack_int4(weights), f"{comment}, int4 packed two per byte (low nibble first)")


def _to_float(tensor: Tensor) -> None:
    """Replace a quantized constant by its real values."""
    if tensor.quant is None or tensor.data is None:
        return
    shape = [1] * tensor.data.ndim
    if tensor.quant.axis is not None:
        shape[tensor.quant.axis] = -1
    scale = tensor.quant.scale.astype(np.float64).reshape(shape if tensor.quant.axis is not None else [1])
    zero_point = tensor.quant.zero_point.astype(np.float64).reshape(scale.shape)
    tensor.data = ((tensor.data.astype(np.float64) - zero_point) * scale).astype(np.float32)
    tensor.dtype, tensor.quant = "float32", None


def channel_multipliers(input_scale: float, weight_scales: np.ndarray,
                        output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) for s_in * s_w[c] / s_out, computed in double from the
    float32 scales as TFLite's PopulateConvolutionQuantizationParams does."""
    reals = (np.float64(input_scale) * weight_scales.astype(np.float64)) / np.float64(output_scale)
    return arith.quantize_multipliers(reals)


def int8_shifts(shift: np.ndarray) -> np.ndarray:
    """Requantization shifts as the kernels store them (int8; every shift is in [-31, 30])."""
    shift = np.asarray(shift)
    assert shift.min(initial=0) >= -31 and shift.max(initial=0) <= 30, "requantization shift out of range"
    return shift.astype(np.int8)


def accumulator_bits(weights: np.ndarray, bias: np.ndarray | None, axis: int, input_offset: int,
                     shift: np.ndarray | None = None) -> int:
    """The bits of the largest |bias + sum w * (x + input_offset)| over every int8 input (and, as
    padded taps contribute 0, of every partial sum): accumulators stay below 2^bits. The DSP kernel
    variants requantize with a shorter exact form when bits <= 29 (tg_dsp.h), for channels with a
    shift in [-23, -1] only: given the per-channel `shift`, the bound is over those channels (others,
    e.g. dead channels of zero weights and a huge bias, take the general requantization anyway)."""
    lo, hi = -128 + input_offset, 127 + input_offset
    w = np.moveaxis(weights.astype(np.int64), axis, 0).reshape(weights.shape[axis], -1)
    positive, negative = np.where(w > 0, w, 0).sum(axis=1), np.where(w < 0, w, 0).sum(axis=1)
    b = np.zeros(len(w), np.int64) if bias is None else bias.astype(np.int64)
    extreme = np.maximum(np.abs(b + positive * hi + negative * lo), np.abs(b + positive * lo + negative * hi))
    if shift is not None and np.size(shift) == len(extreme):
        short = (np.asarray(shift) <= -1) & (np.asarray(shift) >= -23)
        extreme = extreme[short] if short.any() else extreme[:1] * 0
    return max(1, int(np.max(extreme)).bit_length())


def check_accumulator_bound(node: Node, weights: np.ndarray, bias: np.ndarray | None, axis: int,
                            input_offset: int) -> None:
    """The int32 accumulator bias + sum w * (x + input_offset) must not overflow for any input.

    With x + input_offset in [lo, hi], the extremes are bias + sum(w+) hi + sum(w-) lo and
    bias + sum(w+) lo + sum(w-) hi, per output channel.
    """
    lo, hi = -128 + input_offset, 127 + input_offset
    w = np.moveaxis(weights.astype(np.int64), axis, 0).reshape(weights.shape[axis], -1)
    positive, negative = np.where(w > 0, w, 0).sum(axis=1), np.where(w < 0, w, 0).sum(axis=1)
    b = np.zeros(len(w), np.int64) if bias is None else bias.astype(np.int64)
    extreme = np.maximum(np.abs(b + positive * hi + negative * lo), np.abs(b + positive * lo + negative * hi))
    if np.max(extreme) >= 2**31:
        raise TinygenError(f"node '{node.name}': its int32 accumulator could overflow "
                           f"(bound {int(np.max(extreme))}); the layer is too large for int8 kernels")


# --- numpy building blocks of golden kernels ----------------------------------------------------


def padded(x: np.ndarray, pads: tuple[int, int, int, int], value: int) -> np.ndarray:
    """Pad an [N, H, W, C] array with `value` (top, left, bottom, right)."""
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(x: np.ndarray, window: Window, out_h: int, out_w: int) -> np.ndarray:
    """[N, H, W, C] (already padded) -> [N, OH, OW, KH, KW, C]: each output position's window."""
    kh, kw = window.kernel
    sh, sw = window.stride
    dh, dw = window.dilation
    rows = []
    for ky in range(kh):
        cols = []
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            cols.append(x[:, y0:y0 + (out_h - 1) * sh + 1:sh, x0:x0 + (out_w - 1) * sw + 1:sw, :])
        rows.append(np.stack(cols, axis=3))
    return np.stack(rows, axis=3)


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer matrix product through float64 BLAS: exact while every partial sum stays below
    2^53, which int8 x int8 products summed over fewer than 2^37 terms always do."""
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
