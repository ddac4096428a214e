"""Convolution: ONNX Conv (1-D and 2-D) as conv2d (standard or grouped) or depthwise_conv2d.

Weights are stored as TFLite does: standard/grouped [C_out, KH, KW, C_in/groups] (OHWI),
depthwise [1, KH, KW, C_out] (channel-contiguous per tap, which suits NHWC inputs).
Integer arithmetic is TFLite's: acc = bias[c] + sum w * (x - zp_in) in int32, then
requantized per output channel with (multiplier[c], shift[c]) and clamped to the fused
activation range. Padded taps are skipped, which equals padding with the input zero point.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..cformat import c_init
from ..ir import Graph, Node, Tensor, align_up, kernel_dims
from . import s16
from .base import InPlace, Kernel, Op, Unsupported, layer_weights, onnx_op, register, zero_filters
from .common import (
    Window,
    accumulator_bits,
    activation_range,
    channel_multipliers,
    check_accumulator_bound,
    exact_matmul,
    input_quant,
    int4_array,
    int8_shifts,
    output_quant,
    padded,
    quantize_weights_and_bias,
    spatial_window,
    windows,
)

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


@onnx_op("Conv", layout="spatial", constraints="1-D or 2-D; constant weights; any kernel, stride, dilation and "
                             "(asymmetric) pads, auto_pad; groups 1, depthwise (with channel "
                             "multiplier) or grouped")
def Conv(ctx: ImportContext, X: Value, W: Value, B: Value | None = None, *, auto_pad: str = "NOTSET",
         dilations: list[int] | None = None, group: int = 1, kernel_shape: list[int] | None = None,
         pads: list[int] | None = None, strides: list[int] | None = None) -> None:
    if W.const is None:
        raise Unsupported("the weights are computed at run time; tinygen needs constant weights")
    if B is not None and B.const is None:
        raise Unsupported("the bias is computed at run time; tinygen needs a constant bias")
    one_d = X.rank == 3  # Conv1D [C_out, C_in/g, K] is a 2-D conv of height 1
    weights_shape = (W.shape[0], W.shape[1], 1, W.shape[2]) if one_d else tuple(W.shape)
    window = spatial_window(X.shape, kernel_shape or list(W.shape[2:]), strides, dilations, pads, auto_pad)
    out_channels, in_channels = weights_shape[0], X.shape[1]
    if weights_shape[1] * group != in_channels:
        raise Unsupported(f"the weights expect {weights_shape[1] * group} input channels (group={group}), "
                          f"the input has {in_channels}")
    if in_channels % group or out_channels % group:
        raise Unsupported(f"group={group} does not divide {in_channels} input / {out_channels} output channels")
    out = ctx.output_value(ctx.output_name)
    attrs = window_attrs(window)
    depthwise = group == in_channels and group > 1
    # ONNX OIHW -> depthwise [1, KH, KW, C_out] or OHWI.
    order = (1, 2, 3, 0) if depthwise else (0, 2, 3, 1)

    def to_storage(array: np.ndarray) -> np.ndarray:
        return (array.reshape(weights_shape) if one_d else array).transpose(order)

    w = ctx.constant_from(W, "weights", to_storage)
    b = ctx.constant_from(B, "bias") if B is not None else ctx.constant("bias", np.zeros(out_channels, np.float32))
    if depthwise:
        ctx.emit("depthwise_conv2d", [X.runtime, w, b], [out.runtime],
                 depth_multiplier=out_channels // in_channels, activation=None, **attrs)
    else:
        ctx.emit("conv2d", [X.runtime, w, b], [out.runtime], groups=group,
                 activation=None, **attrs)


def window_attrs(window: Window) -> dict[str, list[int] | bool]:
    return {"kernel": list(window.kernel), "stride": list(window.stride),
            "dilation": list(window.dilation), "pads": list(window.pads), "ceil_mode": window.ceil_mode}


_nhwc = kernel_dims  # a tensor's storage shape as [N, H, W, C], as the C kernels see it


def window_of(node: Node) -> Window:
    a = node.attrs
    return Window(tuple(a["kernel"]), tuple(a["stride"]), tuple(a["dilation"]),
                  tuple(a["pads"]), bool(a.get("ceil_mode", False)))


class _ConvBase(Op):
    accepts_activation = True
    has_weights = True
    absorbs_pad = True
    patchable = True

    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        if s16.is_s16(node, graph):  # 16x8 (ops/s16.py): int64 bias, 64-bit requantization
            assert self.weight_channel_axis is not None
            node.params = s16.quantize_weighted(node, graph, self.weight_channel_axis)
            return
        in_scale, in_zp = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        assert self.weight_channel_axis is not None
        weights, bias = quantize_weights_and_bias(graph, node, self.weight_channel_axis, in_scale, in_zp,
                                                  layer_weights(node))
        assert weights.quant is not None and weights.data is not None
        check_accumulator_bound(node, weights.data, bias.data, self.weight_channel_axis or 0, -in_zp)
        multiplier, shift = channel_multipliers(in_scale, weights.quant.scale, out_scale)
        act_min, act_max = activation_range(node, graph)
        node.params = {"input_offset": -in_zp, "output_offset": out_zp, "multiplier": multiplier,
                       "shift": shift, "act_min": act_min, "act_max": act_max}

    def _requantize(self, acc: np.ndarray, node: Node) -> np.ndarray:
        from ..arith import requantize

        p = node.params
        if p.get("s16"):
            return s16.requantize(acc, p)
        return requantize(acc, p["multiplier"], p["shift"], p["output_offset"], p["act_min"], p["act_max"])

    def _patches(self, node: Node, graph: Graph, x: np.ndarray) -> np.ndarray:
        """[1, OH, OW, KH, KW, C_in] windows of (x - zp_in), padded taps contributing zero."""
        window = window_of(node)
        # A rank-2 [N, C] tensor (a standalone BatchNormalization of features) is the 4-D
        # [N, 1, 1, C] that codegen's c_dims gives the C kernel.
        _, out_h, out_w, _ = _nhwc(graph.tensors[node.outputs[0]].shape)
        shifted = x.reshape(_nhwc(x.shape)).astype(np.int32) + node.params["input_offset"]
        return windows(padded(shifted, window.pads, 0), window, out_h, out_w)

    def macs(self, node: Node, graph: Graph) -> int:
        out = graph.tensors[node.outputs[0]]
        w = graph.tensors[node.inputs[1]].shape
        per_output = int(np.prod(w)) // (w[0] if self.name == "conv2d" else w[3])
        return out.size * per_output

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        window = window_of(node)
        per_channel = len(p["multiplier"]) > 1
        if p.get("s16"):  # tg_conv_s16_params (tg_s16.h)
            fields = [
                ("input", ctx.dims(node.inputs[0])), ("filter", ctx.dims(node.inputs[1])),
                ("output", ctx.dims(node.outputs[0])), ("stride", c_init(window.stride)),
                ("dilation", c_init(window.dilation)), ("padding", c_init(window.pads)),
                ("groups", str(node.attrs.get("groups", 1))),
                ("depth_multiplier", str(node.attrs.get("depth_multiplier", 1))),
                ("activation_min", str(p["act_min"])), ("activation_max", str(p["act_max"])),
                ("weights", ctx.pointer(node.inputs[1], "weights")), ("bias", ctx.pointer(node.inputs[2], "bias")),
                ("multiplier", ctx.array("multiplier", p["multiplier"], "requantization multipliers")),
                ("shift", ctx.array("shift", s16.shifts(p["shift"]), "requantization shifts")),
                ("per_channel", "1" if per_channel else "0"),
            ]
            return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
        fields = [
            ("input", ctx.dims(node.inputs[0])),
            ("filter", ctx.dims(node.inputs[1])),
            ("output", ctx.dims(node.outputs[0])),
            ("stride", c_init(window.stride)),
            ("dilation", c_init(window.dilation)),
            ("padding", c_init(window.pads)),
            ("groups", str(node.attrs.get("groups", 1))),
            ("depth_multiplier", str(node.attrs.get("depth_multiplier", 1))),
            ("input_offset", str(p["input_offset"])),
            ("output_offset", str(p["output_offset"])),
            ("activation_min", str(p["act_min"])),
            ("activation_max", str(p["act_max"])),
            *self.weight_fields(node, graph, ctx),
            ("bias", ctx.pointer(node.inputs[2], "bias")),
            ("multiplier", ctx.array("multiplier", p["multiplier"], "requantization multipliers")),
            ("shift", ctx.array("shift", int8_shifts(p["shift"]), "requantization shifts")),
            ("per_channel", "1" if per_channel else "0"),
            ("accumulator_bits", str(self._accumulator_bits(node, graph))),
        ]
        if ctx.in_place(0):
            fields.append(("in_place", "1"))  # the output overlaps the input (the kernels' in-place contracts)
        if "residual" in p:  # fused with the Add that consumes it (passes/fuse_residual_add.py)
            from .elementwise import add_fields

            shape = c_init(_nhwc(graph.tensors[node.outputs[0]].shape))
            strides = c_init(_contiguous_strides(_nhwc(graph.tensors[node.outputs[0]].shape)))
            add = [("output", shape), ("input1_strides", strides), ("input2_strides", strides),
                   *add_fields(p["residual"], ctx, graph.tensors[node.outputs[0]].size)]
            fused = [("conv", _nested(fields)), ("add", _nested(add)),
                     ("conv_first", "1" if p["residual"]["conv_first"] else "0")]
            return ctx.call(fused, [ctx.pointer(node.inputs[0]), ctx.pointer(node.inputs[3]),
                                    ctx.pointer(node.outputs[0])])
        if ctx.kernel is not None and ctx.kernel.function in (FEW_CHANNELS, ONE_BY_ONE_FEW):  # + packed weights
            weights, bias = graph.tensors[node.inputs[1]].data, graph.tensors[node.inputs[2]].data
            assert weights is not None
            bits = self._accumulator_bits(node, graph)
            words, fast = (one_by_one_few_packed(weights, bias, p, bits) if ctx.kernel.function == ONE_BY_ONE_FEW
                           else few_channels_packed(weights, bias, p, bits))
            packed = ctx.array("packed", words, "per channel pair: biases, weights as int16 tap pairs, requantization")
            return ctx.call([("conv", _nested(fields)), ("packed", packed), ("fast", "1" if fast else "0")],
                            [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])

    def weight_fields(self, node: Node, graph: Graph, ctx: EmitContext) -> list[tuple[str, str]]:
        if layer_weights(node) == "int4":
            weights = graph.tensors[node.inputs[1]].data
            assert weights is not None
            return [("weights", int4_array(ctx, weights, f"weights {list(weights.shape)}"))]
        return [("weights", ctx.pointer(node.inputs[1], "weights"))]

    def _accumulator_bits(self, node: Node, graph: Graph) -> int:
        weights = graph.tensors[node.inputs[1]].data
        bias = graph.tensors[node.inputs[2]].data
        assert weights is not None and self.weight_channel_axis is not None
        return accumulator_bits(weights, bias, self.weight_channel_axis, node.params["input_offset"],
                                node.params["shift"])


def _nested(fields: list[tuple[str, str]]) -> str:
    """A nested struct initializer, one field per line (inside the layer's static const struct)."""
    return "{\n" + "".join(f"        .{key} = {value},\n" for key, value in fields) + "    }"


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    _, h, w, c = shape
    return (h * w * c, w * c, c, 1)


# --- the kernel table ------------------------------------------------------------------------------
# The C wrappers (tg_conv_wrapper_s8, tg_depthwise_conv_wrapper_s8) pick a kernel at run time by these
# rules; the code generator applies them at compile time (Kernel.applies) and calls the kernel directly,
# so a firmware links only what its layers use (tests/dsp checks that both rules agree). A convolution
# fused with its residual Add (passes/fuse_residual_add.py) calls the kernel's _add twin.

def _groups(node: Node) -> int:
    return int(node.attrs.get("groups", 1))


def _is_1x1(node: Node, graph: Graph) -> bool:
    """1x1 kernels without padding are a matrix product over pixels."""
    return _groups(node) == 1 and list(node.attrs["kernel"]) == [1, 1] and not any(node.attrs["pads"])


def _is_im2col(node: Node, graph: Graph) -> bool:
    """Other ungrouped convolutions gather each output pixel's window (im2col)."""
    return _groups(node) == 1 and not _is_1x1(node, graph)


def _is_grouped(node: Node, graph: Graph) -> bool:
    """Grouped convolutions take the plain kernel."""
    return _groups(node) != 1


def _fused(rule: Callable[[Node, Graph], bool], fused: bool) -> Callable[[Node, Graph], bool]:
    return lambda node, graph: rule(node, graph) and ("residual" in node.params) == fused


def _widened_taps(node: Node, graph: Graph, pixels: int, im2col: bool) -> int:
    """Scratch of the DSP convolution variants (their C `_get_buffer_size`): 2 bytes per output channel
    (its kind), `pixels` output pixels' taps widened to int16, and for im2col a row to gather a border
    window in, unless C_in % 4 == 0."""
    in_c = _nhwc(graph.tensors[node.inputs[0]].shape)[3]
    kh, kw = node.attrs["kernel"]
    groups = (kh * kw * in_c + 3) // 4  # of 4 taps
    kinds = (2 * _nhwc(graph.tensors[node.outputs[0]].shape)[3] + 3) // 4 * 4
    gather = 4 * groups if im2col and in_c % 4 else 0
    return kinds + 8 * pixels * groups + gather


def _conv_scratch(pixels: int, im2col: bool, dsp: bool = True, rows: bool = False) -> Callable[[Node, Graph], int]:
    """A convolution kernel's scratch, which also covers what its plain fallback needs in place (one output
    pixel), or fused with a residual Add (one output pixel, and the DSP blocks' outputs before the Add: a few
    channels, or with `rows` a whole block's, tg_conv_add_temp_bytes)."""

    def scratch(node: Node, graph: Graph) -> int:
        own = _widened_taps(node, graph, pixels, im2col) if dsp else 0
        out_c = _nhwc(graph.tensors[node.outputs[0]].shape)[3]
        if "residual" in node.params:
            temp = max(FUSED_ADD_TEMP_BYTES, pixels * out_c) if rows else FUSED_ADD_TEMP_BYTES
            return max(own + (temp if dsp else 0), out_c)
        return max(own, out_c if node.params else 0)  # node.params: a quantized node may run in place

    return scratch


def _four_pixel_cost(node: Node, graph: Graph) -> int:
    """With 4-pixel blocks the loop over output channels (about 44 instructions of bookkeeping per
    channel) runs twice as often."""
    _, out_h, out_w, out_c = _nhwc(graph.tensors[node.outputs[0]].shape)
    return 44 * out_c * ((out_h * out_w + 7) // 8)


def _block_kernels(function: str, params: str, applies: Callable[[Node, Graph], bool],
                   im2col: bool) -> tuple[Kernel, Kernel]:
    """A DSP convolution widens 8 output pixels' taps at a time, or 4 when given less scratch."""
    in_place = _conv_in_place((1, 4, 8))
    return (Kernel(function, params, "8px", "8-pixel blocks", applies, _conv_scratch(8, im2col),
                   in_place=in_place),
            Kernel(function, params, "4px", "4-pixel blocks", applies, _conv_scratch(4, im2col),
                   _four_pixel_cost, in_place))


def _fused_block_kernels(function: str, applies: Callable[[Node, Graph], bool], im2col: bool) -> tuple[Kernel, ...]:
    """The fused (residual Add) DSP convolutions: 8- or 4-pixel blocks, with the Add's temp of 32 bytes (`function`:
    a few channels at a time, each chunk its own pass of the convolution's output stage over the block: the least
    scratch) or of a whole block's outputs (its _rows twin: one pass and one call of the Add per block). One C
    driver runs both and picks the mode from the scratch it is given (tg_conv_add_temp_bytes), so the _rows twin
    is listed only where a block's outputs exceed the 32 bytes (else both are the same), and its 4-pixel mode only
    below the 8-pixel chunked mode's scratch (which would take it)."""
    in_place = _conv_in_place((1, 4, 8))
    rows = function.replace("_add_s8", "_add_rows_s8")
    chunks8, chunks4 = _conv_scratch(8, im2col), _conv_scratch(4, im2col)
    rows8, rows4 = _conv_scratch(8, im2col, rows=True), _conv_scratch(4, im2col, rows=True)

    def chunk_cost(pixels: int) -> Callable[[Node, Graph], int]:
        """Per block, each chunk of 32 / pixels channels beyond the first: a call of the convolution's output
        stage (about 70 instructions) and of the Add, 15 per row."""
        def cost(node: Node, graph: Graph) -> int:
            _, out_h, out_w, channels = _nhwc(graph.tensors[node.outputs[0]].shape)
            if pixels * channels <= FUSED_ADD_LOCAL_BYTES:  # the block's outputs on the stack: one pass
                return 0
            chunks = -(-channels // (FUSED_ADD_TEMP_BYTES // pixels))
            return (chunks - 1) * (70 + 15 * pixels) * -(-(out_h * out_w) // pixels)
        return cost

    def four_pixel_chunks(node: Node, graph: Graph) -> int:
        return _four_pixel_cost(node, graph) + chunk_cost(4)(node, graph)

    def rows_apply(pixels: int) -> Callable[[Node, Graph], bool]:
        def rule(node: Node, graph: Graph) -> bool:
            out_c = _nhwc(graph.tensors[node.outputs[0]].shape)[3]
            return (applies(node, graph) and pixels * out_c > FUSED_ADD_TEMP_BYTES
                    and (pixels == 8 or rows4(node, graph) < chunks8(node, graph)))
        return rule

    return (Kernel(rows, "tg_conv_add_params", "8px", "8-pixel blocks, the Add per block", rows_apply(8), rows8,
                   in_place=in_place),
            Kernel(function, "tg_conv_add_params", "8px", "8-pixel blocks", applies, chunks8, chunk_cost(8),
                   in_place),
            Kernel(rows, "tg_conv_add_params", "4px", "4-pixel blocks, the Add per block", rows_apply(4), rows4,
                   _four_pixel_cost, in_place),
            Kernel(function, "tg_conv_add_params", "4px", "4-pixel blocks", applies, chunks4, four_pixel_chunks,
                   in_place))


def _ring_rows_scratch(node: Node, graph: Graph) -> int:
    """The DSP depthwise variants' scratch: a ring of widened input rows, (KH - 1) * dilation + 1 rows of
    the columns an output row reads; it also covers the plain kernel's ring of input pixels in place."""
    kh, kw = node.attrs["kernel"]
    out_w = _nhwc(graph.tensors[node.outputs[0]].shape)[2]
    (dh, dw), (_, sw) = node.attrs["dilation"], node.attrs["stride"]
    rows = 8 * ((kh - 1) * dh + 1) * ((out_w - 1) * sw + (kw - 1) * dw + 1)
    plain = ring_pixels(node, graph) * _nhwc(graph.tensors[node.inputs[0]].shape)[3]
    return max(rows, plain if _depthwise_overlap(node, graph) else 0)


def _dw3x3_bytes(node: Node, graph: Graph, transposed: bool) -> int:
    """tg_depthwise_conv_3x3_s8's scratch in one order: 3 widened rows of the columns an output row (of the
    transposed view when transposed) reads, less an odd last column (the tail) that is padding, and with
    channels not a multiple of 4 an output row of 4 lanes per pixel (the last group's); or the plain
    kernel's ring of input pixels in place, if larger."""
    _, in_h, in_w, in_c = _nhwc(graph.tensors[node.inputs[0]].shape)
    _, out_h, out_w, out_c = _nhwc(graph.tensors[node.outputs[0]].shape)
    (sh, sw), (top, left) = node.attrs["stride"], node.attrs["pads"][:2]
    count, stride, size, pad = (out_h, sh, in_h, top) if transposed else (out_w, sw, in_w, left)
    width = (count - 1) * stride + 3
    columns = width - int(width % 2 == 1 and size + pad < width)
    lanes = 4 * count if out_c % 4 else 0
    plain = ring_pixels(node, graph) * in_c
    return max(24 * columns + lanes, plain if _depthwise_overlap(node, graph) else 0)


def _dw3x3_columns_scratch(node: Node, graph: Graph) -> int:
    """tg_depthwise_conv_3x3_s8_get_buffer_size: a tall output (dw3x3_transposed) transposed, else in rows."""
    from .orders import dw3x3_transposed

    return _dw3x3_bytes(node, graph, dw3x3_transposed(node, graph))


def _dw3x3_rows_scratch(node: Node, graph: Graph) -> int:
    """tg_depthwise_conv_3x3_s8_row_order_buffer_size: in rows (given less than the above, a tall output runs
    so)."""
    return _dw3x3_bytes(node, graph, False)


def _is_dw3x3_tall(node: Node, graph: Graph) -> bool:
    """The column order (a tall output transposed) is a mode of its own."""
    from .orders import dw3x3_transposed

    return _is_depthwise_3x3(node, graph) and dw3x3_transposed(node, graph)


def _is_dw3x3_rows(node: Node, graph: Graph) -> bool:
    """The row order: every 3x3 layer that is not tall, and a tall one where its scratch is less than the column
    order's (given as much, the C kernel transposes)."""
    return _is_depthwise_3x3(node, graph) and (
        not _is_dw3x3_tall(node, graph) or _dw3x3_rows_scratch(node, graph) < _dw3x3_columns_scratch(node, graph))


# Estimated instructions (cycles / 1.22) per channel group and row beyond its pixels' share of blocks of 4: the
# call, the driver, the widening's edges; and for a remainder of a pixel pair or a single last pixel. Measured
# (qemu_m4, estimated cycles): a KWS dw layer, 25 x 5 x 64, in rows 267,756, in columns 201,120: 171 per row.
DW3X3_ROW = 135
DW3X3_PAIR = 25
DW3X3_SINGLE = 36


def _dw3x3_rows_cost(node: Node, graph: Graph) -> int:
    """The row order's estimated instructions beyond the column order's (where the output is tall: more rows,
    each with its fixed costs and the remainder after the blocks of 4 pixels); 0 for other layers."""
    if not _is_dw3x3_tall(node, graph):
        return 0
    _, out_h, out_w, channels = _nhwc(graph.tensors[node.outputs[0]].shape)

    def per_group(rows: int, width: int) -> int:
        return rows * (DW3X3_ROW + DW3X3_PAIR * int(width & 2 != 0) + DW3X3_SINGLE * (width & 1))

    return -(-channels // 4) * (per_group(out_h, out_w) - per_group(out_w, out_h))


def _is_depthwise_3x3(node: Node, graph: Graph) -> bool:
    a = node.attrs
    return (list(a["kernel"]) == [3, 3] and list(a["dilation"]) == [1, 1] and a.get("depth_multiplier", 1) == 1
            and _nhwc(graph.tensors[node.outputs[0]].shape)[3] >= 4)


def ring_pixels(node: Node, graph: Graph) -> int:
    """tg_depthwise_conv_s8_ring_pixels: the ring holds the input pixels up to P_top * W + P_left back,
    as far back as an output pixel's window can reach when an output row is no wider than S_h input rows
    (ring_covers checks it)."""
    top, left = node.attrs["pads"][0], node.attrs["pads"][1]
    return top * _nhwc(graph.tensors[node.inputs[0]].shape)[2] + left + 1


def ring_covers(node: Node, graph: Graph) -> bool:
    """Does the ring reach every input pixel an output pixel reads behind it (raster order, output and
    input at one address)?"""
    from .orders import window_pixels

    windows = window_pixels(node, graph)
    first = np.where(windows >= 0, windows, np.iinfo(np.int64).max).min(axis=1)
    lag = np.arange(len(windows)) - first
    return bool((lag < ring_pixels(node, graph)).all())


@functools.lru_cache(maxsize=512)
def _conv_delta(key: tuple) -> int:
    """The smallest safe delta of a convolution run in place (InPlace): the max over the orders that
    may run -- the plain kernel's (one pixel at a time) and the DSP variants' blocks of 4 and 8 pixels."""
    in_shape, out_shape, kernel, stride, dilation, pads, blocks = key
    node = Node("conv", "conv2d", ["x"], ["y"], {"kernel": kernel, "stride": stride, "dilation": dilation,
                                                  "pads": pads})
    graph = Graph("delta", {"x": Tensor("x", in_shape, "int8"), "y": Tensor("y", out_shape, "int8")})
    from .orders import window_pixels

    in_c, out_c = in_shape[3], out_shape[3]
    windows = window_pixels(node, graph)
    first = np.where(windows >= 0, windows, np.iinfo(np.int64).max).min(axis=1).astype(np.float64) * in_c
    pixels = len(windows)
    delta = -(2**62)
    for block in blocks:
        starts = np.arange(0, pixels, block)
        lowest_read = np.minimum.reduceat(first, starts)  # per block
        later = np.minimum.accumulate(lowest_read[::-1])[::-1]  # lowest read from block b on
        ends = np.minimum(starts + block, pixels) * out_c  # one past the block's last output byte
        if len(starts) > 1:
            finite = np.isfinite(later[1:])
            if finite.any():
                delta = max(delta, int((ends[:-1] - later[1:])[finite].max()))
    delta = 0 if delta == -(2**62) else delta
    return align_up(delta)


FUSED_ADD_TEMP_BYTES = 32  # TG_CONV_ADD_TEMP_BYTES: a block's outputs of a few channels, before the Add
FUSED_ADD_LOCAL_BYTES = 64  # TG_CONV_ADD_LOCAL_BYTES: a block's outputs up to this size go on the stack instead


@functools.lru_cache(maxsize=512)
def _depthwise_in_place(key: tuple) -> bool:
    """Are both depthwise orders (the plain kernel's ring, the DSP variants' channel groups) safe with
    the output at the input's address?"""
    from .orders import depthwise_dsp_order, depthwise_plain_order, safe

    in_shape, out_shape, kernel, stride, dilation, pads = key
    node = Node("dw", "depthwise_conv2d", ["x"], ["y"], {"kernel": kernel, "stride": stride, "dilation": dilation,
                                                          "pads": pads, "depth_multiplier": 1})
    graph = Graph("in_place", {"x": Tensor("x", in_shape, "int8"), "y": Tensor("y", out_shape, "int8")})
    size = int(np.prod(in_shape))
    # tg_depthwise_conv_3x3_s8's two modes (the planner may move a layer between them after placing it)
    modes = (False, True) if _is_dw3x3_tall(node, graph) else (False,)
    dsp = [depthwise_dsp_order(node, graph, transposed) for transposed in modes]
    orders = [order for order in dsp if order is not None]
    return len(orders) == len(dsp) and ring_covers(node, graph) and all(
        safe(order, {0: size}, {0: 0}) for order in (depthwise_plain_order(node, graph), *orders))


def _conv_in_place(blocks: tuple[int, ...]) -> Callable[[Node, Graph], list[InPlace]]:
    """The output may start delta bytes (or more) below the input: pixels (or `blocks` of pixels) in
    raster order, each reading its whole windows before writing (tg_conv.h's in-place contracts); a fused
    residual Add's output may replace the residual."""

    def in_place(node: Node, graph: Graph) -> list[InPlace]:
        a = node.attrs
        key = (_nhwc(graph.tensors[node.inputs[0]].shape), _nhwc(graph.tensors[node.outputs[0]].shape),
               tuple(a["kernel"]), tuple(a["stride"]), tuple(a["dilation"]), tuple(a["pads"]), blocks)
        relations = [InPlace(0, _conv_delta(key))]
        if "residual" in node.params:
            relations.append(InPlace(3, 0, exact=True))
        return relations

    return in_place


# --- first layers: 1 to 4 input channels (tg_conv_few_channels_s8) ------------------------------------
FEW_CHANNELS = "tg_conv_few_channels_s8"


def _few_pairs(node: Node, graph: Graph) -> int:
    """Tap pairs per kernel row: ceil(KW * C_in / 2)."""
    return (node.attrs["kernel"][1] * _nhwc(graph.tensors[node.inputs[0]].shape)[3] + 1) // 2


def _few_channels_scratch(whole_row: bool) -> Callable[[Node, Graph], int]:
    """tg_conv_few_channels_s8_get_buffer_size: KH widened input rows (and, when stride.w * C_in is odd, their
    copies shifted by one element), the words the padding steps read before the first window, at least
    one output pixel (the plain fallback in place). The microkernel reads the windows in the rows: both
    modes ("row": `whole_row`, and "pair") take the same scratch."""

    def scratch(node: Node, graph: Graph) -> int:
        in_c = _nhwc(graph.tensors[node.inputs[0]].shape)[3]
        _, _, out_w, out_c = _nhwc(graph.tensors[node.outputs[0]].shape)
        kh, _ = node.attrs["kernel"]
        sw = node.attrs["stride"][1]
        row_words = ((out_w - 1) * sw * in_c + 2 * _few_pairs(node, graph) + 2) // 2
        odd = (sw * in_c) % 2 == 1 and out_w > 1
        padding_steps = _few_steps(kh, _few_pairs(node, graph)) - kh * _few_pairs(node, graph)
        return max(4 * kh * row_words * (2 if odd else 1) + 4 * padding_steps, out_c)

    return scratch


def _few_pair_cost(node: Node, graph: Graph) -> int:
    """The "pair" mode: since the microkernel reads the windows in the widened rows (h-first2) it runs as
    "row" does, with the same scratch; kept (as the costlier twin) for the variant names already in use."""
    _, out_h, out_w, out_c = _nhwc(graph.tensors[node.outputs[0]].shape)
    return 30 * ((out_c + 1) // 2) * out_h * ((out_w + 1) // 2 - 1)


def _few_steps(kh: int, pairs: int) -> int:
    """SMLAD steps per output pixel: KH x P tap pairs, rounded up to the microkernel's 4 steps per loop."""
    return (kh * pairs + 3) // 4 * 4


def _few_channels_key(node: Node, graph: Graph, blocks: tuple[int, ...]) -> tuple:
    a = node.attrs
    return (_nhwc(graph.tensors[node.inputs[0]].shape), _nhwc(graph.tensors[node.outputs[0]].shape),
            tuple(a["kernel"]), tuple(a["stride"]), tuple(a["dilation"]), tuple(a["pads"]), blocks)


FEW_CHANNELS_MAX_OUT = 16


def _is_few_channels(node: Node, graph: Graph) -> bool:
    """First layers: 1 to 4 input channels, at most FEW_CHANNELS_MAX_OUT output channels, no dilation, not
    fused (the C wrapper cannot take them: it has no packed weights). The im2col variant takes them too,
    with less scratch where RAM is short; this one where its order runs in place wherever the im2col
    variant's does (the planner places the tensors, then may move a layer to the faster kernel).
    With many output channels the im2col variant's per-pixel widening costs little per channel, and its
    8-pixel blocks run across rows (no half pixel pair at an odd row end): KWS's first layer (1 -> 64
    channels, 5 output columns) takes 0.72 M estimated cycles there, 1.0 M here; VWW's (3 -> 8) and IC's
    (3 -> 16) run faster here."""
    if not (_is_im2col(node, graph) and "residual" not in node.params and list(node.attrs["dilation"]) == [1, 1]
            and _nhwc(graph.tensors[node.inputs[0]].shape)[3] <= 4
            and _nhwc(graph.tensors[node.outputs[0]].shape)[3] <= FEW_CHANNELS_MAX_OUT):
        return False
    out_w = _nhwc(graph.tensors[node.outputs[0]].shape)[2]
    return bool(_conv_delta(_few_channels_key(node, graph, (1, out_w)))
                <= _conv_delta(_few_channels_key(node, graph, (1, 4, 8))))


def _few_channels_in_place(node: Node, graph: Graph) -> list[InPlace]:
    """Output rows in order, each reading its KH input rows before writing (blocks of OW pixels), and the
    plain fallback's single pixels; declared as the im2col variant's delta (at least as large, where this
    kernel applies), so the planner may move the layer between the two."""
    return [InPlace(0, _conv_delta(_few_channels_key(node, graph, (1, 4, 8))))]


def few_channels_packed(weights: np.ndarray, bias: np.ndarray | None, params: dict,
                        bits: int, padding_first: bool = True) -> tuple[np.ndarray, bool]:
    """tg_conv_few_channels_params.packed and .fast. For each pair of output channels (an odd last channel
    paired with a zero channel): its two biases, its weights, then the short requantization (tg_dsp.h) of
    each channel (multiplier, 2^(e-1) + output_offset 2^e, e), 2 S + 8 int32 words. The weights are int16
    tap pairs, a word each (tap 2j in the low half, 2j + 1 in the high half), per step s = j * KH + ky
    (P tap pairs per kernel row: taps t = kx * C_in + c zero-padded to 2 P) the first channel's word, then
    the second's, the steps zero-padded in front to S = KH x P rounded up to 4 (the kernel may skip
    them; behind them with `padding_first` False: tg_conv_1x1_few_s8 reads its steps from the first).
    `fast`: every live channel takes the short requantization (accumulator_bits <= 29, shift in [-23, -1])
    and the clamp is the whole int8 range; a dead channel (all weights 0) then gets bias 0, multiplier 0,
    e = 1 and 2 x its constant output as the rounding term, so the same five instructions give its constant.
    Otherwise only the weights are read."""
    from ..arith import requantize

    out_c, kh, kw, in_c = weights.shape
    pairs = (kw * in_c + 1) // 2
    rows = np.zeros((out_c + out_c % 2, kh, 2 * pairs), np.int16)
    rows[:out_c, :, :kw * in_c] = weights.reshape(out_c, kh, kw * in_c)
    steps = np.zeros((out_c + out_c % 2, _few_steps(kh, pairs), 2), np.int16)
    windows = rows.reshape(-1, kh, pairs, 2).transpose(0, 2, 1, 3)  # [channel, j, ky, tap]: s = j * KH + ky
    first = steps.shape[1] - kh * pairs if padding_first else 0
    steps[:, first:first + kh * pairs] = windows.reshape(-1, kh * pairs, 2)
    taps = steps.reshape(-1, 2, steps.shape[1], 2).transpose(0, 2, 1, 3)  # [channel pair, step, channel, tap]
    words = (taps[..., 0].astype(np.int64) & 0xFFFF) | (taps[..., 1].astype(np.int64) << 16)
    channel_pairs = len(words)
    b = np.zeros(2 * channel_pairs, np.int64)
    b[:out_c] = 0 if bias is None else bias
    multiplier = np.broadcast_to(np.asarray(params["multiplier"], np.int64), (out_c,))
    shift = np.broadcast_to(np.asarray(params["shift"], np.int64), (out_c,))
    live: np.ndarray = np.asarray(weights.reshape(out_c, -1).any(axis=1))
    short = (shift <= -1) & (shift >= -23) & (bits <= 29)
    fast = bool(params["act_min"] == -128 and params["act_max"] == 127 and short[live].all())
    requant = np.zeros((2 * channel_pairs, 3), np.int64)  # multiplier, rounding term, e
    if fast:
        for c in range(out_c):
            if live[c]:
                e = int(-shift[c])
                requant[c] = (multiplier[c], (1 << (e - 1)) + params["output_offset"] * (1 << e), e)
            else:
                constant = int(requantize(np.array([b[c]]), multiplier[c:c + 1], shift[c:c + 1],
                                          params["output_offset"], -128, 127)[0])
                b[c] = 0
                requant[c] = (0, 2 * constant, 1)
    packed = np.concatenate([b.reshape(-1, 2), words.reshape(channel_pairs, -1),
                             requant.reshape(channel_pairs, 6)], axis=1)
    return np.ascontiguousarray((packed & 0xFFFFFFFF).astype(np.uint32).view(np.int32)), fast


# --- 1x1 with 4 or 8 input channels (tg_conv_1x1_few_s8) ----------------------------------------------
ONE_BY_ONE_FEW = "tg_conv_1x1_few_s8"
ONE_BY_ONE_FEW_CHANNELS = (4, 8)  # with 16 (VWW's layer 4) the block kernel is as fast: weights reloaded per pixel


def one_by_one_few_order(weights: np.ndarray) -> np.ndarray:
    """The 1x1 weights [C_out, 1, 1, C_in] with each group of 4 input channels in the SXTAB16 lane order
    (0 2 1 3): few_channels_packed then pairs them as tg_conv_1x1_few_s8's widened pixel words."""
    in_c = weights.shape[3]
    order = (np.arange(in_c).reshape(-1, 4)[:, [0, 2, 1, 3]]).ravel()
    return np.ascontiguousarray(weights[..., order])


def one_by_one_few_packed(weights: np.ndarray, bias: np.ndarray | None, params: dict,
                          bits: int) -> tuple[np.ndarray, bool]:
    """tg_conv_1x1_few_s8's packed words: few_channels_packed of the weights in one_by_one_few_order, with the
    weights and biases doubled (int16 holds 2 x int8), so the SMLADs accumulate the 2 x acc the short
    requantization takes (|2 acc| < 2^30: `fast` needs bits <= 29; dead channels keep bias 0)."""
    doubled = 2 * one_by_one_few_order(weights).astype(np.int16)
    words, fast = few_channels_packed(doubled, bias, params, bits, padding_first=False)
    words = words.astype(np.int64)
    words[:, :2] *= 2
    return np.ascontiguousarray(words.astype(np.int32)), fast


def _is_1x1_few(node: Node, graph: Graph) -> bool:
    """1x1 without padding, not fused, 4 or 8 input channels, and `fast` (few_channels_packed: every
    live channel in the short requantization, the whole int8 clamp; anything else would take tg_conv_s8).
    Its order (pixel by pixel, tg_conv_s8's) runs in place wherever the block kernels' does."""
    in_c = _nhwc(graph.tensors[node.inputs[0]].shape)[3]
    p = node.params
    if not (_is_1x1(node, graph) and _groups(node) == 1 and "residual" not in p and in_c in ONE_BY_ONE_FEW_CHANNELS
            and "multiplier" in p and p.get("act_min") == -128 and p.get("act_max") == 127):
        return False
    weights, bias = graph.tensors[node.inputs[1]].data, graph.tensors[node.inputs[2]].data
    if weights is None:
        return False
    out_c = weights.shape[0]
    shift = np.broadcast_to(np.asarray(p["shift"], np.int64), (out_c,))
    live = weights.reshape(out_c, -1).any(axis=1)
    short = (shift <= -1) & (shift >= -23)
    return bool(short[live].all() and accumulator_bits(weights, bias, 0, p["input_offset"], p["shift"]) <= 29)


# 4-bit weights (packed two per byte, tinygen/quantize/precision.py): one plain kernel each, which unpacks
# the nibbles in its inner loop (tg_s4.h); never fused with a residual Add (passes/fuse_residual_add.py).
def _window_bytes(node: Node, graph: Graph) -> int:
    """tg_conv_s4_get_buffer_size: one output pixel's input window of one group (KH x KW x C_in / groups),
    rounded up to 4 bytes, and its full blocks of 8 widened to int16 (the DSP path, tg_s4_widen)."""
    window = int(np.prod(graph.tensors[node.inputs[1]].shape[1:]))
    return (window + 3) // 4 * 4 + 2 * (window // 8 * 8)


CONV_S4 = Kernel("tg_conv_s4", "tg_conv_params", weights="int4", scratch=_window_bytes)
DEPTHWISE_S4 = Kernel("tg_depthwise_conv_s4", "tg_conv_params", weights="int4")

CONV_KERNELS = (
    Kernel("tg_conv_s16", "tg_conv_s16_params", activations="int16"),  # 16x8, plain C (tg_s16.h)
    Kernel(ONE_BY_ONE_FEW, "tg_conv_few_channels_params", applies=_is_1x1_few,
           scratch=_conv_scratch(0, im2col=False, dsp=False), in_place=_conv_in_place((1,))),
    *_block_kernels("tg_conv_1x1_s8", "tg_conv_params", _fused(_is_1x1, False), im2col=False),
    Kernel(FEW_CHANNELS, "tg_conv_few_channels_params", "row", "an output row's pixel pairs per channel pair",
           _is_few_channels, _few_channels_scratch(True), in_place=_few_channels_in_place),
    Kernel(FEW_CHANNELS, "tg_conv_few_channels_params", "pair", "as row (the windows are read in the rows)",
           _is_few_channels, _few_channels_scratch(False), _few_pair_cost, _few_channels_in_place),
    *_block_kernels("tg_conv_im2col_s8", "tg_conv_params", _fused(_is_im2col, False), im2col=True),
    Kernel("tg_conv_s8", "tg_conv_params", applies=_fused(_is_grouped, False),
           scratch=_conv_scratch(0, im2col=False, dsp=False), in_place=_conv_in_place((1,))),
    *_fused_block_kernels("tg_conv_1x1_add_s8", _fused(_is_1x1, True), im2col=False),
    *_fused_block_kernels("tg_conv_im2col_add_s8", _fused(_is_im2col, True), im2col=True),
    Kernel("tg_conv_add_s8", "tg_conv_add_params", applies=_fused(_is_grouped, True),
           scratch=_conv_scratch(0, im2col=False, dsp=False), in_place=_conv_in_place((1,))),
    CONV_S4,
)


def _depthwise_overlap(node: Node, graph: Graph) -> list[InPlace]:
    """With channel multiplier 1, the output may take the input's place (exactly: the DSP variants go
    channel group by channel group), as tg_conv.h's depthwise in-place contracts say; checked by
    simulating both orders (tinygen/ops/orders.py)."""
    a = node.attrs
    if not node.params or a.get("depth_multiplier", 1) != 1:
        return []
    key = (_nhwc(graph.tensors[node.inputs[0]].shape), _nhwc(graph.tensors[node.outputs[0]].shape),
           tuple(a["kernel"]), tuple(a["stride"]), tuple(a["dilation"]), tuple(a["pads"]))
    return [InPlace(0, 0, exact=True)] if _depthwise_in_place(key) else []


DEPTHWISE_KERNELS = (
    Kernel("tg_depthwise_conv_s16", "tg_conv_s16_params", activations="int16"),  # 16x8, plain C (tg_s16.h)
    Kernel("tg_depthwise_conv_3x3_s8", "tg_conv_params", "columns", "a tall output transposed, output columns as rows",
           _is_dw3x3_tall, _dw3x3_columns_scratch, in_place=_depthwise_overlap),
    Kernel("tg_depthwise_conv_3x3_s8", "tg_conv_params", "rows", "output rows", _is_dw3x3_rows, _dw3x3_rows_scratch,
           _dw3x3_rows_cost, _depthwise_overlap),
    Kernel("tg_depthwise_conv_fast_s8", "tg_conv_params", scratch=_ring_rows_scratch, in_place=_depthwise_overlap,
           applies=lambda node, graph: not _is_depthwise_3x3(node, graph)),
    DEPTHWISE_S4,
)


def wide_weights(weights: np.ndarray) -> np.ndarray:
    """tg_conv_params.wide: int8 weights [C_out, ...] doubled (the short requantization's doubling, done
    once) and widened to int16 in the order the DSP kernels' SMLAD takes them, as int32 words of two lanes
    (low first): per channel pair (0-padded to an even count), per group g of 4 taps (0-padded), c's
    (2 w[4g], 2 w[4g + 2]), (2 w[4g + 1], 2 w[4g + 3]), then c + 1's."""
    rows = 2 * weights.reshape(weights.shape[0], -1).astype(np.int16)
    out_c, taps = rows.shape
    groups = (taps + 3) // 4
    padded_rows = np.zeros((out_c + out_c % 2, 4 * groups), np.int16)
    padded_rows[:out_c, :taps] = rows
    lanes = padded_rows.reshape(-1, 2, groups, 4)[..., [0, 2, 1, 3]]  # [pair, channel, group, lanes]
    return np.ascontiguousarray(lanes.transpose(0, 2, 1, 3)).reshape(-1).astype("<i2").view("<i4")


def wide_bytes(node: Node, graph: Graph) -> int:
    """The flash tg_conv_params.wide costs the layer (wide_weights' size)."""
    shape = graph.tensors[node.inputs[1]].shape
    out_c, taps = shape[0], int(np.prod(shape[1:]))
    return 2 * (out_c + out_c % 2) * 4 * ((taps + 3) // 4)


def wide_field(node: Node, weights: np.ndarray, ctx: EmitContext) -> list[tuple[str, str]]:
    """The pre-widened weights of a layer the plan gave them (node.attrs["wide"]: plan/wide.py)."""
    if not node.attrs.get("wide"):
        return []
    return [("wide", ctx.array("wide", wide_weights(weights), f"weights {list(weights.shape)} widened to int16 "
                                                               "lane pairs in SMLAD order (tg_conv_params.wide)"))]


# the kernels whose output stage (tg_conv_block_range_s8) reads tg_conv_params.pair_constants
PAIR_KERNELS = ("tg_conv_1x1_s8", "tg_conv_im2col_s8", "tg_conv_1x1_add_s8", "tg_conv_im2col_add_s8",
                "tg_conv_1x1_add_rows_s8", "tg_conv_im2col_add_rows_s8")
# Packed constants cost 16 bytes of flash per channel and save about 35 estimated cycles per channel pair
# and block (of 4 or 8 pixels): stored for outputs of this many pixels or more (8 blocks at least).
PAIR_CONSTANTS_PIXELS = 64


def pair_constants(bias: np.ndarray, params: dict, bits: int) -> np.ndarray:
    """tg_conv_params.pair_constants: per output channel pair (c even, c + 1; 0-padded to an even count)
    multiplier, round, e of c, the same of c + 1, then bias c, bias c + 1, where e = -shift and round =
    (2 output_offset + 1) << (e - 1) for the channels with the short requantization (tg_dsp_short_prepare;
    0 for the others, which the assembly never takes)."""
    out_c = len(bias)
    multiplier = np.broadcast_to(np.asarray(params["multiplier"], np.int64), (out_c,))
    shift = np.broadcast_to(np.asarray(params["shift"], np.int64), (out_c,))
    words = np.zeros((out_c + out_c % 2, 4), np.int64)  # per channel: multiplier, round, e, bias
    for c in range(out_c):
        if bits <= 29 and -23 <= shift[c] <= -1:
            e = int(-shift[c])
            words[c, :3] = (multiplier[c], (2 * params["output_offset"] + 1) << (e - 1), e)
        words[c, 3] = bias[c]
    pairs = words.reshape(-1, 2, 4)
    packed = np.concatenate([pairs[:, :, :3].reshape(-1, 6), pairs[:, :, 3]], axis=1)
    return np.ascontiguousarray((packed.reshape(-1) & 0xFFFFFFFF).astype(np.uint32).view(np.int32))


def pair_constants_field(node: Node, graph: Graph, ctx: EmitContext, bits: int) -> list[tuple[str, str]]:
    """The packed requantization constants of a layer whose DSP block kernel runs the pairs assembly on
    enough pixels (PAIR_CONSTANTS_PIXELS; node.attrs["pair_constants"] True or False decides instead:
    tests/dsp) with the full int8 clamp."""
    bias, p = graph.tensors[node.inputs[2]].data if len(node.inputs) > 2 else None, node.params
    _, out_h, out_w, _ = _nhwc(graph.tensors[node.outputs[0]].shape)
    if (ctx.kernel is None or ctx.kernel.function not in PAIR_KERNELS or bias is None or bits > 29
            or p.get("s16") or layer_weights(node) != "int8" or p["act_min"] > -128 or p["act_max"] < 127
            or not node.attrs.get("pair_constants", out_h * out_w >= PAIR_CONSTANTS_PIXELS)):
        return []
    return [("pair_constants", ctx.array("pair_constants", pair_constants(bias, p, bits),
                                         "per output channel pair: multiplier, round, e of both, their biases "
                                         "(tg_conv_params.pair_constants)"))]


@register
class Conv2D(_ConvBase):
    name = "conv2d"
    summary = "2-D convolution, standard or grouped (1-D convolutions have height 1)"
    kernels = CONV_KERNELS
    weight_channel_axis = 0
    weight_precisions = ("int8", "int4")

    def weight_fields(self, node: Node, graph: Graph, ctx: EmitContext) -> list[tuple[str, str]]:
        """Dead output channels (every weight 0; trained models have many: 971 of VWW's 2,738)
        are not stored: only the live rows, and a row index per channel (-1 for dead ones), when
        that saves flash. The kernels give a dead channel the requantized bias."""
        weights = graph.tensors[node.inputs[1]].data
        assert weights is not None
        return (self._stored_rows(node, graph, ctx, weights) + wide_field(node, weights, ctx)
                + pair_constants_field(node, graph, ctx, self._accumulator_bits(node, graph)))

    def _stored_rows(self, node: Node, graph: Graph, ctx: EmitContext, weights: np.ndarray) -> list[tuple[str, str]]:
        rows = weights.reshape(weights.shape[0], -1)
        dead = zero_filters(weights)
        saved = int(dead.sum()) * rows.shape[1] // (2 if layer_weights(node) == "int4" else 1)
        if saved <= 2 * len(rows) or dead.all():  # the int16 row index costs 2 bytes per channel
            return super().weight_fields(node, graph, ctx)
        index = np.where(dead, -1, np.cumsum(~dead) - 1).astype(np.int16)
        live = np.ascontiguousarray(weights[~dead])
        comment = (f"weights of the {len(live)} live output channels {list(live.shape)} ({int(dead.sum())} dead "
                   "ones are all zero and not stored)")
        stored = (int4_array(ctx, live, comment) if layer_weights(node) == "int4"
                  else ctx.array("weights", live, comment))
        return [("weights", stored),
                ("rows", ctx.array("rows", index, "row of each output channel in the weights, -1: dead")),
                ("stored_rows", str(len(live)))]

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        groups = node.attrs.get("groups", 1)
        weights = graph.tensors[node.inputs[1]].data
        bias = graph.tensors[node.inputs[2]].data
        assert weights is not None and bias is not None
        patches = self._patches(node, graph, inputs[0])  # [1, OH, OW, KH, KW, C_in]
        n, out_h, out_w, _, _, in_c = patches.shape
        out_c = weights.shape[0]
        group_in, group_out = in_c // groups, out_c // groups
        acc = np.empty((n, out_h, out_w, out_c), np.int64)
        for g in range(groups):
            cols = patches[..., g * group_in:(g + 1) * group_in].reshape(n * out_h * out_w, -1)
            w = weights[g * group_out:(g + 1) * group_out].reshape(group_out, -1)
            acc[..., g * group_out:(g + 1) * group_out] = exact_matmul(cols, w.T).reshape(
                n, out_h, out_w, group_out)
        acc += bias.astype(np.int64)
        out = self._requantize(acc, node)
        if "residual" in node.params:  # the fused Add: exactly the Add layer's arithmetic
            from .elementwise import add_arithmetic

            residual = node.params["residual"]
            first, second = (out, inputs[3]) if residual["conv_first"] else (inputs[3], out)
            out = add_arithmetic(residual, first, second.reshape(first.shape))
        return [out]


@register
class DepthwiseConv2D(_ConvBase):
    name = "depthwise_conv2d"
    summary = "depthwise 2-D convolution with channel multiplier"
    kernels = DEPTHWISE_KERNELS
    weight_channel_axis = 3
    weight_precisions = ("int8", "int4")

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        multiplier = node.attrs["depth_multiplier"]
        weights = graph.tensors[node.inputs[1]].data  # [1, KH, KW, C_out]
        bias = graph.tensors[node.inputs[2]].data
        assert weights is not None and bias is not None
        patches = self._patches(node, graph, inputs[0])  # [1, OH, OW, KH, KW, C_in]
        expanded = np.repeat(patches, multiplier, axis=-1)  # channel c reads input c // multiplier
        acc = np.einsum("nyxhwc,hwc->nyxc", expanded.astype(np.float64),
                        weights[0].astype(np.float64))
        acc = np.rint(acc).astype(np.int64) + bias.astype(np.int64)
        return [self._requantize(acc, node).reshape(graph.tensors[node.outputs[0]].shape)]
