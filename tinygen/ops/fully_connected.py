"""Fully connected: ONNX Gemm and MatMul with constant weights (a following bias Add is folded by
passes/fuse_bias_add.py).

Weights are stored [N, K] (output-major, as TFLite), so each output is one dot product over a
contiguous row. Arithmetic as TFLite's FULLY_CONNECTED: acc = bias[n] + sum w * (x - zp_in),
requantized per output channel (per tensor when the model says so), clamped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..arith import requantize
from ..ir import Graph, Node
from . import batch_matmul, s16
from .base import Kernel, Op, Unsupported, layer_weights, onnx_op, register
from .common import (
    accumulator_bits,
    activation_range,
    channel_multipliers,
    check_accumulator_bound,
    exact_matmul,
    input_quant,
    int4_array,
    int8_shifts,
    output_quant,
    quantize_weights_and_bias,
)

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


def _matrix_input(A: Value) -> None:
    if A.const is not None:
        raise Unsupported("the data input is a constant; nothing to compute at run time")


def _bias(ctx: ImportContext, C: Value | None, beta: float, out_features: int) -> str:
    if C is None:
        return ctx.constant("bias", np.zeros(out_features, np.float32))
    if C.const is None:
        raise Unsupported("the bias is computed at run time; tinygen needs a constant bias")
    if C.const.size == 1:
        return ctx.constant("bias", np.full(out_features, float(C.const.reshape(-1)[0]) * beta, np.float32))
    if C.const.size != out_features:
        raise Unsupported(f"bias of shape {list(C.const.shape)} is not one value per output")
    return ctx.constant_from(C, "bias", lambda array: array.reshape(out_features) * (1 if beta == 1.0 else beta),
                             exact=beta == 1.0)


@onnx_op("Gemm", constraints="A is the data [batch, K] (transA=0); B constant; C constant "
                             "(scalar or per output)")
def Gemm(ctx: ImportContext, A: Value, B: Value, C: Value | None = None, *, alpha: float = 1.0,
         beta: float = 1.0, transA: int = 0, transB: int = 0) -> None:
    _matrix_input(A)
    if transA:
        raise Unsupported("transA=1 is not supported")
    if B.const is None:
        raise Unsupported("the weights are computed at run time; tinygen needs constant weights")
    if B.rank != 2:
        raise Unsupported(f"the weights have rank {B.rank}; Gemm needs a matrix")
    out_features = B.shape[0] if transB else B.shape[1]
    weights = ctx.constant_from(B, "weights", lambda array: (array if transB else array.T) * (
        1 if alpha == 1.0 else alpha), exact=alpha == 1.0)  # -> [N, K]
    _emit(ctx, A, weights, _bias(ctx, C, beta, out_features))


@onnx_op("MatMul", layout="sequence",
         constraints="data times a constant 2-D matrix (a fully connected layer), or any two tensors of rank "
                     "<= 4 with broadcast batch axes (ops/batch_matmul.py)")
def MatMul(ctx: ImportContext, A: Value, B: Value) -> None:
    if A.const is not None or B.const is None or B.rank != 2 or A.rank < 2:
        batch_matmul.import_matmul(ctx, A, B)  # both at run time (attention), or constants of other shapes
        return
    weights = ctx.constant_from(B, "weights", lambda array: array.T)  # [K, N] -> [N, K]
    _emit(ctx, A, weights, ctx.constant("bias", np.zeros(B.shape[1], np.float32)))


def _emit(ctx: ImportContext, A: Value, weights: str, bias: str) -> None:
    depth = ctx.graph.tensors[weights].shape[1]
    if A.shape[-1] != depth:
        raise Unsupported(f"data has {A.shape[-1]} features, weights expect {depth}")
    # The product runs over the last ONNX axis: a feature map (a tensor also used by a Conv or a pool) is
    # brought into ONNX's order first, and back to channels-last after when the output is one.
    batch_matmul.emit_in_onnx_order(ctx, "fully_connected", [batch_matmul.in_onnx_order(ctx, A), weights, bias],
                                    activation=None)


SMALL_LAYER_MACS = 1024  # below this a layer takes the plain kernel: a variant's code would cost more flash than
                         # its speed saves (a 64 x 12 classifier head: about 5,000 instructions either way)


def _sizes(node: Node, graph: Graph) -> tuple[int, int, int]:
    """(rows, K, N) of a fully connected layer."""
    out_features, depth = graph.tensors[node.inputs[1]].shape
    return graph.tensors[node.inputs[0]].size // depth, depth, out_features


def _large(node: Node, graph: Graph) -> bool:
    rows, depth, outputs = _sizes(node, graph)
    return rows * depth * outputs >= SMALL_LAYER_MACS


def _widened_row(node: Node, graph: Graph) -> int:
    """tg_fully_connected_{fast,wide}_s8_get_buffer_size: the input row widened to int16."""
    return 8 * ((_sizes(node, graph)[1] + 3) // 4)


def _direct_cost(node: Node, graph: Graph) -> int:
    """Widening each chunk of 4 inputs as it goes costs about 0.15 instructions more per MAC."""
    rows, depth, outputs = _sizes(node, graph)
    return rows * depth * outputs * 15 // 100


def _accumulator_bits(node: Node, graph: Graph) -> int:
    """The bound tg_fully_connected_params.accumulator_bits states (tg_dsp.h's short requantization)."""
    weights, bias = graph.tensors[node.inputs[1]].data, graph.tensors[node.inputs[2]].data
    assert weights is not None
    return accumulator_bits(weights, bias, 0, node.params["input_offset"], node.params["shift"])


def _short_requant(node: Node, graph: Graph) -> bool:
    """tg_fc_short_applies (internal/tg_fully_connected_dsp.h): the DSP assembly requantizes every channel
    -- per tensor or per channel -- in the short form (each shift in [-23, -1], accumulators below 2^29)
    and clamps to the full int8 range only; other layers would fall back to the plain loop at run time.
    Before quantization (no params yet) the variants are assumed to apply."""
    p = node.params
    if not p or p.get("s16"):
        return True
    shifts = np.asarray(p["shift"])
    return (p["act_min"] <= -128 and p["act_max"] >= 127 and bool(np.all((shifts <= -1) & (shifts >= -23)))
            and _accumulator_bits(node, graph) <= 29)


def _dsp(multiple: int, min_outputs: int) -> Callable[[Node, Graph], bool]:
    """A DSP variant's rule, as its C takes the layer (tg_fc_layer_applies, tg_fc_direct_applies): K a
    multiple of `multiple`, at least `min_outputs` outputs, the short requantization; tiny layers excluded."""
    def applies(node: Node, graph: Graph) -> bool:
        _, depth, outputs = _sizes(node, graph)
        return (_large(node, graph) and depth % multiple == 0 and outputs >= min_outputs
                and _short_requant(node, graph))
    return applies


_WIDE, _FAST, _DIRECT = _dsp(128, 2), _dsp(8, 2), _dsp(4, 4)


# The DSP variants (falling back to the plain kernel where the core has none) widen the input row to
# int16 once and multiply two output rows per load of it, unrolled deeper when K is a multiple of 128;
# without scratch, the direct variant widens each chunk of 4 inputs as it goes, for 4 output rows at a
# time. Their rules mirror what the C takes, so the table never picks a variant that silently runs the
# plain loop: tiny layers and the rest take the plain kernel.
KERNELS = (
    Kernel("tg_fully_connected_s16", "tg_fully_connected_s16_params", activations="int16"),  # 16x8 (tg_s16.h)
    Kernel("tg_fully_connected_wide_s8", "tg_fully_connected_params", scratch=_widened_row, applies=_WIDE),
    Kernel("tg_fully_connected_fast_s8", "tg_fully_connected_params", scratch=_widened_row,
           applies=lambda node, graph: _FAST(node, graph) and _sizes(node, graph)[1] % 128 != 0),
    Kernel("tg_fully_connected_direct_s8", "tg_fully_connected_params", cost=_direct_cost, applies=_DIRECT),
    Kernel("tg_fully_connected_s8", "tg_fully_connected_params",
           applies=lambda node, graph: not _FAST(node, graph) and not _DIRECT(node, graph)),
    # 4-bit weights [N, K] packed two per byte in their flat order, unpacked in the inner loop (tg_s4.h)
    Kernel("tg_fully_connected_s4", "tg_fully_connected_params", weights="int4"),
)
DIRECT = next(kernel for kernel in KERNELS if kernel.function == "tg_fully_connected_direct_s8")
S4 = next(kernel for kernel in KERNELS if kernel.weights == "int4")


def interleave_rows(weights: np.ndarray) -> np.ndarray:
    """[N, K] -> the order tg_fully_connected_direct_s8 reads: blocks of 4 rows x 4 inputs, then the last
    N % 4 rows row-major (K a multiple of 4)."""
    n, k = weights.shape
    blocked = n // 4 * 4
    blocks = weights[:blocked].reshape(n // 4, 4, k // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([blocks, weights[blocked:].reshape(-1)]).astype(weights.dtype)


@register
class FullyConnected(Op):
    name = "fully_connected"
    summary = "fully connected layer: [rows, K] x [N, K]^T + bias"
    kernels = KERNELS
    has_weights = True
    accepts_activation = True
    weight_channel_axis = 0
    weight_precisions = ("int8", "int4")
    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        if s16.is_s16(node, graph):  # 16x8 (ops/s16.py): int64 bias, 64-bit requantization
            node.params = s16.quantize_weighted(node, graph, 0)
            return
        in_scale, in_zp = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        weights, bias = quantize_weights_and_bias(graph, node, 0, in_scale, in_zp, layer_weights(node))
        assert weights.quant is not None and weights.data is not None
        check_accumulator_bound(node, weights.data, bias.data, 0, -in_zp)
        multiplier, shift = channel_multipliers(in_scale, weights.quant.scale, out_scale)
        act_min, act_max = activation_range(node, graph)
        node.params = {"input_offset": -in_zp, "output_offset": out_zp, "multiplier": multiplier,
                       "shift": shift, "act_min": act_min, "act_max": act_max}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        weights = graph.tensors[node.inputs[1]].data
        bias = graph.tensors[node.inputs[2]].data
        assert weights is not None and bias is not None
        out_shape = graph.tensors[node.outputs[0]].shape
        rows = inputs[0].reshape(-1, weights.shape[1]).astype(np.int32) + p["input_offset"]
        acc = exact_matmul(rows, weights.T) + bias.astype(np.int64)
        if p.get("s16"):
            return [s16.requantize(acc, p).reshape(out_shape)]
        out = requantize(acc, p["multiplier"], p["shift"], p["output_offset"], p["act_min"], p["act_max"])
        return [out.reshape(out_shape)]

    def _weights(self, node: Node, graph: Graph, ctx: EmitContext) -> str:
        """The weights array: [N, K] row-major, or for the direct variant interleaved in blocks of 4 rows
        x 4 inputs, the last N % 4 rows row-major after them (tg_fully_connected.h)."""
        weights = graph.tensors[node.inputs[1]].data
        assert weights is not None
        if ctx.kernel == S4:
            return int4_array(ctx, weights, f"weights {list(weights.shape)}")
        if ctx.kernel != DIRECT:
            return ctx.pointer(node.inputs[1], "weights")
        return ctx.array("weights", interleave_rows(weights), f"weights {list(weights.shape)}, interleaved in "
                             "blocks of 4 rows x 4 inputs (tg_fully_connected_direct_s8)")

    def macs(self, node: Node, graph: Graph) -> int:
        weights = graph.tensors[node.inputs[1]].shape
        rows = graph.tensors[node.inputs[0]].size // weights[1]
        return rows * weights[0] * weights[1]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        rows, depth, out_features = _sizes(node, graph)
        if p.get("s16"):  # tg_fully_connected_s16_params (tg_s16.h)
            fields = [("rows", str(rows)), ("input_depth", str(depth)), ("output_depth", str(out_features)),
                      ("activation_min", str(p["act_min"])), ("activation_max", str(p["act_max"])),
                      ("weights", ctx.pointer(node.inputs[1], "weights")),
                      ("bias", ctx.pointer(node.inputs[2], "bias")),
                      ("multiplier", ctx.array("multiplier", p["multiplier"], "requantization multipliers")),
                      ("shift", ctx.array("shift", s16.shifts(p["shift"]), "requantization shifts")),
                      ("per_channel", "1" if len(p["multiplier"]) > 1 else "0")]
            return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
        fields = [
            ("rows", str(rows)),
            ("input_depth", str(depth)),
            ("output_depth", str(out_features)),
            ("input_offset", str(p["input_offset"])),
            ("output_offset", str(p["output_offset"])),
            ("activation_min", str(p["act_min"])),
            ("activation_max", str(p["act_max"])),
            ("weights", self._weights(node, graph, ctx)),
            ("bias", ctx.pointer(node.inputs[2], "bias")),
            ("multiplier", ctx.array("multiplier", p["multiplier"], "requantization multipliers")),
            ("shift", ctx.array("shift", int8_shifts(p["shift"]), "requantization shifts")),
            ("per_channel", "1" if len(p["multiplier"]) > 1 else "0"),
            ("accumulator_bits", str(_accumulator_bits(node, graph))),
        ]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
