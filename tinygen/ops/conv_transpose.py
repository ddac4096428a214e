"""Transposed convolution: ONNX ConvTranspose (1-D and 2-D) as conv_transpose2d, TFLite's TRANSPOSE_CONV
arithmetic.

The output is what scattering every input pixel through the kernel gives: input pixel (iy, ix) and tap
(ky, kx) land on output (iy * s_h + ky * d_h - pad_top, ix * s_w + kx * d_w - pad_left); the bottom and
right pads and output_padding only decide the output size. The kernel (tg_conv_transpose_s8) computes it
the other way round, by gathering: for each output pixel it finds the taps whose input position
(oy + pad_top - ky * d_h) / s_h is a whole number inside the input. TFLite's reference scatters into an
int32 buffer of the whole output; gathering needs no scratch (an MCU arena would have to hold
4 x C_out x OH x OW bytes) and writes each output byte once. Integer sums are exact, so both orders
give the same accumulator: acc = bias[c] + sum w * (x - zp_in), then requantized per output channel as
a convolution is (TFLite's TRANSPOSE_CONV int8 recipe).

Weights: ONNX [C_in, C_out / group, KH, KW] are stored [C_out, KH, KW, C_in / group] (OHWI, like a
convolution), so each output channel's taps are contiguous over its group's input channels and a
following BatchNormalization folds along axis 0 (weight_channel_axis).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir import Graph, Node
from .base import Kernel, Unsupported, onnx_op, register
from .common import Window, exact_matmul
from .conv import _ConvBase, window_attrs, window_of

if TYPE_CHECKING:
    from .onnx_import import ImportContext, Value


def transpose_pads(in_sizes: list[int], kernel: list[int], strides: list[int], dilations: list[int],
                   output_padding: list[int], pads: list[int] | None, output_shape: list[int] | None,
                   auto_pad: str) -> tuple[list[int], list[int]]:
    """(pads [begin..., end...], output sizes) of a transposed convolution, as onnxruntime computes them.

    The natural output is (in - 1) * s + output_padding + (k - 1) * d + 1; pads crop it. With
    `output_shape` (or auto_pad SAME_*, whose target is in * s) the crop is total = natural - target
    (at least 0), split with the odd element at the beginning except for SAME_UPPER -- the ONNX
    specification's rule, which onnxruntime follows (checked against it in tests/ops)."""
    spatial = len(in_sizes)
    natural = [(size - 1) * s + p + (k - 1) * d + 1
               for size, k, s, d, p in zip(in_sizes, kernel, strides, dilations, output_padding, strict=True)]
    target: list[int] | None = None
    if output_shape is not None:
        target = list(output_shape)[-spatial:]
        if any(t > n for t, n in zip(target, natural, strict=True)):
            raise Unsupported(f"output_shape {list(output_shape)} is larger than the transposed convolution "
                              f"produces ({natural}); onnxruntime refuses it too")
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = [size * s for size, s in zip(in_sizes, strides, strict=True)]
    elif auto_pad not in ("NOTSET", "VALID"):
        raise Unsupported(f"auto_pad '{auto_pad}' is not supported")
    if target is None:
        pads = [0] * (2 * spatial) if auto_pad == "VALID" or pads is None else list(pads)
        if any(p < 0 for p in pads):
            raise Unsupported("negative pads are not supported")
        sizes = [n - pads[i] - pads[i + spatial] for i, n in enumerate(natural)]
        return pads, sizes
    begins, ends = [], []
    for n, t in zip(natural, target, strict=True):
        total = max(0, n - t)
        small = total // 2
        begin = small if auto_pad == "SAME_UPPER" else total - small
        begins.append(begin)
        ends.append(total - begin)
    return begins + ends, [n - b - e for n, b, e in zip(natural, begins, ends, strict=True)]


@onnx_op("ConvTranspose", layout="spatial",
         constraints="1-D or 2-D; constant weights; any kernel, stride, dilation, pads, output_padding, "
                     "output_shape, auto_pad; groups (depthwise included)")
def ConvTranspose(ctx: ImportContext, X: Value, W: Value, B: Value | None = None, *, auto_pad: str = "NOTSET",
                  dilations: list[int] | None = None, group: int = 1, kernel_shape: list[int] | None = None,
                  output_padding: list[int] | None = None, output_shape: list[int] | None = None,
                  pads: list[int] | None = None, strides: list[int] | None = None) -> None:
    if W.const is None:
        raise Unsupported("the weights are computed at run time; tinygen needs constant weights")
    if B is not None and B.const is None:
        raise Unsupported("the bias is computed at run time; tinygen needs a constant bias")
    spatial = X.rank - 2
    if spatial not in (1, 2):
        raise Unsupported(f"{spatial}-D transposed convolutions are not supported (1-D and 2-D are)")
    kernel = list(W.shape[2:])
    if kernel_shape is not None and list(kernel_shape) != kernel:
        raise Unsupported(f"kernel_shape {list(kernel_shape)} differs from the weights' {kernel}")
    in_channels = X.shape[1]
    if W.shape[0] != in_channels or in_channels % group:
        raise Unsupported(f"the weights {list(W.shape)} do not match {in_channels} input channels "
                          f"in {group} group(s)")
    out_channels = W.shape[1] * group
    strides = list(strides or [1] * spatial)
    dilations = list(dilations or [1] * spatial)
    output_padding = list(output_padding or [0] * spatial)
    if any(p >= max(s, d) for p, s, d in zip(output_padding, strides, dilations, strict=True)):
        raise Unsupported(f"output_padding {output_padding} must be smaller than the stride or the dilation")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER") and any(output_padding) and output_shape is None:
        raise Unsupported(f"auto_pad {auto_pad} with output_padding {output_padding}: onnxruntime and ONNX's "
                          "shape inference disagree on the output size",
                          hint="export with explicit pads (padding=... in PyTorch) instead of 'same'")
    pad_list, sizes = transpose_pads(list(X.shape[2:]), kernel, strides, dilations, output_padding, pads,
                                     output_shape, auto_pad)
    out = ctx.output_value(ctx.output_name)
    if list(out.shape[2:]) != sizes or out.shape[1] != out_channels:
        raise Unsupported(f"the output shape {list(out.shape)} does not match the transposed convolution's "
                          f"arithmetic ({[1, out_channels, *sizes]})")
    if spatial == 1:
        kernel, strides, dilations = [1, kernel[0]], [1, strides[0]], [1, dilations[0]]
        pad_list = [0, pad_list[0], 0, pad_list[1]]
    window = Window((kernel[0], kernel[1]), (strides[0], strides[1]), (dilations[0], dilations[1]),
                    (pad_list[0], pad_list[1], pad_list[2], pad_list[3]))
    group_in, group_out = in_channels // group, out_channels // group
    weights_shape = (in_channels, group_out, *kernel)

    def to_storage(array: np.ndarray) -> np.ndarray:
        # [C_in, C_out/g, KH, KW] -> [g, C_in/g, C_out/g, KH, KW] -> [g, C_out/g, KH, KW, C_in/g] -> OHWI
        grouped = array.reshape(weights_shape).reshape(group, group_in, group_out, *kernel)
        return grouped.transpose(0, 2, 3, 4, 1).reshape(out_channels, *kernel, group_in)

    # A per-channel quantized model (QDQ) quantizes along ONNX axis 1, C_out / group: one scale per output
    # channel only when group is 1; otherwise the layer is requantized from the real values.
    exact = W.quant is None or W.quant.axis is None or W.quant.scale.size <= 1 or group == 1
    w = ctx.constant_from(W, "weights", to_storage, exact=exact)
    b = ctx.constant_from(B, "bias") if B is not None else ctx.constant("bias", np.zeros(out_channels, np.float32))
    ctx.emit("conv_transpose2d", [X.runtime, w, b], [out.runtime], groups=group, activation=None,
             **window_attrs(window))


def _landing(size: int, kernel: int, stride: int, dilation: int, begin: int, out_size: int
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per tap: (input positions, the output positions they land on) inside the output."""
    taps = []
    for k in range(kernel):
        positions = np.arange(size) * stride + k * dilation - begin
        inside = (positions >= 0) & (positions < out_size)
        taps.append((np.nonzero(inside)[0], positions[inside]))
    return taps


@register
class ConvTranspose2D(_ConvBase):
    name = "conv_transpose2d"
    summary = "2-D transposed convolution, standard or grouped (1-D have height 1); TFLite TRANSPOSE_CONV int8"
    # Gathers each output pixel's taps: no scratch, and no in-place relation (the output is larger).
    kernels = (Kernel("tg_conv_transpose_s8", "tg_conv_params"),)
    weight_channel_axis = 0
    absorbs_pad = False  # its pads crop the output; a Pad before it is not its padding
    patchable = False

    def _taps(self, node: Node, graph: Graph) -> tuple[list, list]:
        window = window_of(node)
        _, in_h, in_w, _ = graph.tensors[node.inputs[0]].shape
        _, out_h, out_w, _ = graph.tensors[node.outputs[0]].shape
        rows = _landing(in_h, window.kernel[0], window.stride[0], window.dilation[0], window.pads[0], out_h)
        cols = _landing(in_w, window.kernel[1], window.stride[1], window.dilation[1], window.pads[1], out_w)
        return rows, cols

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        groups = node.attrs.get("groups", 1)
        weights = graph.tensors[node.inputs[1]].data  # [C_out, KH, KW, C_in / groups]
        bias = graph.tensors[node.inputs[2]].data
        assert weights is not None and bias is not None
        out_shape = graph.tensors[node.outputs[0]].shape
        x = inputs[0].reshape(graph.tensors[node.inputs[0]].shape)[0].astype(np.int64) + node.params["input_offset"]
        out_c, group_in = weights.shape[0], weights.shape[3]
        group_out = out_c // groups
        acc = np.zeros(out_shape[1:], np.int64)  # [OH, OW, C_out]
        rows, cols = self._taps(node, graph)
        for ky, (in_y, out_y) in enumerate(rows):
            for kx, (in_x, out_x) in enumerate(cols):
                if not len(in_y) or not len(in_x):
                    continue
                pixels = x[np.ix_(in_y, in_x)]  # [h, w, C_in]
                for g in range(groups):
                    cols_g = pixels[..., g * group_in:(g + 1) * group_in].reshape(-1, group_in)
                    taps = weights[g * group_out:(g + 1) * group_out, ky, kx, :]  # [group_out, group_in]
                    product = exact_matmul(cols_g, taps.T).reshape(len(in_y), len(in_x), group_out)
                    # Within one tap the landing positions are distinct, so += adds each product once.
                    acc[np.ix_(out_y, out_x, np.arange(g * group_out, (g + 1) * group_out))] += product
        acc += bias.astype(np.int64)
        return [self._requantize(acc[None], node)]

    def macs(self, node: Node, graph: Graph) -> int:
        """Products computed: the taps that land inside the output, times C_out x C_in / groups."""
        weights = graph.tensors[node.inputs[1]].shape
        rows, cols = self._taps(node, graph)
        landed = sum(len(y) for y, _ in rows) * sum(len(x) for x, _ in cols)
        return landed * weights[0] * weights[3]
