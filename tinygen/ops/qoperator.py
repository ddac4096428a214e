"""onnxruntime's QOperator format (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, ...): expanded into QDQ.

`quantize_static(..., quant_format=QuantFormat.QOperator)` writes each quantized op as one node that
takes int8/uint8 tensors with their scales and zero points and gives an int8/uint8 tensor with its
own. That is the same arithmetic as the QDQ form of the same op (DequantizeLinear of every input ->
the float op -> QuantizeLinear of its output), which tinygen already runs as an int8 kernel with
exactly those parameters (ops/qdq.py). So each QOperator node is expanded into that form before the
model is shape-inferred (frontend/expand.py walks the graph and calls the functions here, registered
with `@onnx_op(..., expands=True)`); the rest of tinygen never sees a QOperator node, and such files
compile without calibration data.

An expansion function receives the node's input names (None for an absent optional input) and its
attributes as keyword arguments with ONNX defaults (an unknown attribute is refused by name), and
builds the replacement through an ExpandContext. Weights keep their integers: a DequantizeLinear of
an initializer is what QDQ files hold, and the importer keeps the integers behind it (QuantInfo). A
bias (int32 in accumulator units) is dequantized with scale x_scale * w_scale computed in float32,
as onnxruntime's QDQ quantizer computes it, so both forms give the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .base import Unsupported, onnx_op

MS = "com.microsoft"


class ExpandContext:
    """What an expansion function uses: the model's constants and the means to add nodes and initializers."""

    def __init__(self, constants: dict[str, np.ndarray], names: set[str]):
        self.constants = constants  # initializers by name (new ones are added here too)
        self.names = names  # every value name of the graph, to keep new names unique
        # Run-time int8/uint8 tensors -> the names of their (scale, zero point): set by the QuantizeLinear
        # nodes of the model and by expansions; ops that only move values pass them on (frontend/expand.py).
        self.quant: dict[str, tuple[str, str | None]] = {}
        self.node: onnx.NodeProto | None = None
        self.nodes: list[onnx.NodeProto] = []  # the expansion of the current node
        self.initializers: list[onnx.TensorProto] = []

    def unique(self, hint: str) -> str:
        name, index = hint, 1
        while name in self.names:
            name, index = f"{hint}_{index}", index + 1
        self.names.add(name)
        return name

    @property
    def node_name(self) -> str:
        assert self.node is not None
        return self.node.name or f"{self.node.op_type}_{self.node.output[0]}"

    def constant(self, name: str | None, what: str) -> np.ndarray:
        if name is None or name not in self.constants:
            raise Unsupported(f"{what} must be a constant")
        return np.asarray(self.constants[name])

    def initializer(self, hint: str, array: np.ndarray) -> str:
        name = self.unique(hint)
        self.constants[name] = array
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def add(self, op_type: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=self.unique(f"{self.node_name}_{op_type}"),
                                           **attrs))

    def dequantize(self, x: str, scale: str, zero_point: str | None, axis: int | None = None) -> str:
        """DequantizeLinear of `x`: the float value the op reads."""
        out = self.unique(f"{x}_dequantized")
        inputs = [x, scale] + ([zero_point] if zero_point else [])
        self.add("DequantizeLinear", inputs, [out], **({"axis": axis} if axis is not None else {}))
        return out

    def quantize(self, y_float: str, y: str, scale: str, zero_point: str | None) -> None:
        """QuantizeLinear of the float result into the node's own int8/uint8 output `y`."""
        self.add("QuantizeLinear", [y_float, scale] + ([zero_point] if zero_point else []), [y])
        self.quant[y] = (scale, zero_point)

    def float_op(self, op_type: str, inputs: list[str], y: str, y_scale: str, y_zero_point: str | None,
                 **attrs: object) -> None:
        """The float op on dequantized inputs, its result quantized into `y`."""
        y_float = self.unique(f"{y}_float")
        self.add(op_type, inputs, [y_float], **attrs)
        self.quantize(y_float, y, y_scale, y_zero_point)

    def output(self, index: int = 0) -> str:
        assert self.node is not None
        return self.node.output[index]


def _channel_axis(ctx: ExpandContext, scale: str, axis: int) -> int | None:
    """The DequantizeLinear axis of weights quantized per channel along `axis` (None: per tensor)."""
    return axis if ctx.constant(scale, "the weight scale").size > 1 else None


def _bias(ctx: ExpandContext, bias: str | None, x_scale: str, w_scale: str, factor: float = 1.0) -> str | None:
    """Dequantize an int32 bias whose unit is x_scale * w_scale (per output channel when w_scale is)."""
    if bias is None:
        return None
    values = ctx.constant(bias, "the bias")
    if values.dtype != np.int32:
        raise Unsupported(f"the bias is {values.dtype}; int32 is expected")
    scale = (np.asarray(ctx.constant(x_scale, "the input scale"), np.float32).reshape(-1)
             * np.asarray(ctx.constant(w_scale, "the weight scale"), np.float32).reshape(-1))
    scale = (scale * np.float32(factor)).astype(np.float32)
    if scale.size == 1:
        return ctx.dequantize(bias, ctx.initializer(f"{bias}_scale", scale.reshape(())), None)
    return ctx.dequantize(bias, ctx.initializer(f"{bias}_scale", scale), None, axis=0)


def _only_channels_first(channels_last: int) -> None:
    if channels_last:
        raise Unsupported("channels_last=1 is not supported (the NCHW form is)",
                          hint="quantize the model as exported (NCHW)")


@onnx_op("QLinearConv", expands=True, constraints="expanded to DequantizeLinear -> Conv -> QuantizeLinear")
def QLinearConv(ctx: ExpandContext, x: str, x_scale: str, x_zero_point: str, w: str, w_scale: str,
                w_zero_point: str, y_scale: str, y_zero_point: str | None = None, B: str | None = None, *,
                auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
                kernel_shape: list[int] | None = None, pads: list[int] | None = None,
                strides: list[int] | None = None) -> None:
    inputs = [ctx.dequantize(x, x_scale, x_zero_point),
              ctx.dequantize(w, w_scale, w_zero_point, _channel_axis(ctx, w_scale, 0))]
    bias = _bias(ctx, B, x_scale, w_scale)
    attrs = {"auto_pad": auto_pad, "group": group, "dilations": dilations, "kernel_shape": kernel_shape,
             "pads": pads, "strides": strides}
    ctx.float_op("Conv", inputs + ([bias] if bias else []), ctx.output(), y_scale, y_zero_point,
                 **{k: v for k, v in attrs.items() if v is not None})


@onnx_op("QLinearMatMul", expands=True, constraints="expanded to DequantizeLinear -> MatMul -> QuantizeLinear")
def QLinearMatMul(ctx: ExpandContext, a: str, a_scale: str, a_zero_point: str, b: str, b_scale: str,
                  b_zero_point: str, y_scale: str, y_zero_point: str) -> None:
    b_axis = None
    if b in ctx.constants and np.asarray(ctx.constants[b_scale]).size > 1:
        b_axis = ctx.constants[b].ndim - 1  # per column of B (its last axis)
    inputs = [ctx.dequantize(a, a_scale, a_zero_point), ctx.dequantize(b, b_scale, b_zero_point, b_axis)]
    ctx.float_op("MatMul", inputs, ctx.output(), y_scale, y_zero_point)


@onnx_op("QGemm", domain=MS, expands=True,
         constraints="quantized output (y_scale given); expanded to DequantizeLinear -> Gemm -> QuantizeLinear")
def QGemm(ctx: ExpandContext, A: str, a_scale: str, a_zero_point: str, B: str, b_scale: str, b_zero_point: str,
          C: str | None = None, y_scale: str | None = None, y_zero_point: str | None = None, *,
          alpha: float = 1.0, transA: int = 0, transB: int = 0) -> None:
    if y_scale is None:
        raise Unsupported("QGemm with a float output (no y_scale) is not supported",
                          hint="quantize with quantize_static, which gives QGemm a quantized output")
    # B is [K, N] (or [N, K] with transB): its output channels lie along axis 1 (or 0).
    b_axis = _channel_axis(ctx, b_scale, 0 if transB else 1) if B in ctx.constants else None
    inputs = [ctx.dequantize(A, a_scale, a_zero_point), ctx.dequantize(B, b_scale, b_zero_point, b_axis)]
    # onnxruntime adds C to the int32 accumulator before scaling by alpha: its real unit is alpha * a_s * b_s.
    bias = _bias(ctx, C, a_scale, b_scale, alpha)
    ctx.float_op("Gemm", inputs + ([bias] if bias else []), ctx.output(), y_scale, y_zero_point,
                 alpha=float(alpha), transA=transA, transB=transB)


@onnx_op("QLinearAdd", "QLinearMul", domain=MS, expands=True,
         constraints="expanded to DequantizeLinear -> Add / Mul -> QuantizeLinear")
def QLinearBinary(ctx: ExpandContext, A: str, A_scale: str, A_zero_point: str | None, B: str, B_scale: str,
                  B_zero_point: str | None, C_scale: str, C_zero_point: str | None = None) -> None:
    assert ctx.node is not None
    inputs = [ctx.dequantize(A, A_scale, A_zero_point), ctx.dequantize(B, B_scale, B_zero_point)]
    ctx.float_op(ctx.node.op_type.removeprefix("QLinear"), inputs, ctx.output(), C_scale, C_zero_point)


@onnx_op("QLinearGlobalAveragePool", domain=MS, expands=True,
         constraints="channels_last=0; expanded to DequantizeLinear -> GlobalAveragePool -> QuantizeLinear")
def QLinearGlobalAveragePool(ctx: ExpandContext, X: str, x_scale: str, x_zero_point: str | None, y_scale: str,
                             y_zero_point: str | None = None, *, channels_last: int = 0) -> None:
    _only_channels_first(channels_last)
    ctx.float_op("GlobalAveragePool", [ctx.dequantize(X, x_scale, x_zero_point)], ctx.output(), y_scale,
                 y_zero_point)


@onnx_op("QLinearAveragePool", domain=MS, expands=True,
         constraints="channels_last=0; expanded to DequantizeLinear -> AveragePool -> QuantizeLinear")
def QLinearAveragePool(ctx: ExpandContext, X: str, x_scale: str, x_zero_point: str | None, y_scale: str,
                       y_zero_point: str | None = None, *, auto_pad: str = "NOTSET", ceil_mode: int = 0,
                       channels_last: int = 0, count_include_pad: int = 0, kernel_shape: list[int] | None = None,
                       pads: list[int] | None = None, strides: list[int] | None = None) -> None:
    _only_channels_first(channels_last)
    attrs = {"auto_pad": auto_pad, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad,
             "kernel_shape": kernel_shape, "pads": pads, "strides": strides}
    ctx.float_op("AveragePool", [ctx.dequantize(X, x_scale, x_zero_point)], ctx.output(), y_scale, y_zero_point,
                 **{k: v for k, v in attrs.items() if v is not None})


@onnx_op("QLinearConcat", domain=MS, expands=True,
         constraints="expanded to DequantizeLinear -> Concat -> QuantizeLinear")
def QLinearConcat(ctx: ExpandContext, Y_scale: str, Y_zero_point: str, *inputs: str, axis: int = 1) -> None:
    if not inputs or len(inputs) % 3:
        raise Unsupported("the inputs must come in (tensor, scale, zero point) triples")
    floats = [ctx.dequantize(inputs[i], inputs[i + 1], inputs[i + 2]) for i in range(0, len(inputs), 3)]
    ctx.float_op("Concat", floats, ctx.output(), Y_scale, Y_zero_point, axis=axis)


@onnx_op("QLinearSigmoid", domain=MS, expands=True,
         constraints="expanded to DequantizeLinear -> Sigmoid -> QuantizeLinear")
def QLinearSigmoid(ctx: ExpandContext, X: str, X_scale: str, X_zero_point: str | None, Y_scale: str,
                   Y_zero_point: str | None = None) -> None:
    ctx.float_op("Sigmoid", [ctx.dequantize(X, X_scale, X_zero_point)], ctx.output(), Y_scale, Y_zero_point)


@onnx_op("QLinearLeakyRelu", domain=MS, expands=True,
         constraints="expanded to DequantizeLinear -> LeakyRelu -> QuantizeLinear")
def QLinearLeakyRelu(ctx: ExpandContext, X: str, X_scale: str, X_zero_point: str | None, Y_scale: str,
                     Y_zero_point: str | None = None, *, alpha: float = 0.01) -> None:
    ctx.float_op("LeakyRelu", [ctx.dequantize(X, X_scale, X_zero_point)], ctx.output(), Y_scale, Y_zero_point,
                 alpha=float(alpha))


@onnx_op("QLinearSoftmax", domain=MS, expands=True,
         constraints="opset >= 13 semantics (one axis); expanded to DequantizeLinear -> Softmax -> QuantizeLinear")
def QLinearSoftmax(ctx: ExpandContext, X: str, X_scale: str, x_zero_point: str | None, y_scale: str,
                   y_zero_point: str | None = None, *, axis: int = -1, opset: int = 13) -> None:
    if opset < 13 and axis != -1:
        raise Unsupported(f"a Softmax of opset {opset} over axis {axis} (the flattened, pre-13 form) is not "
                          "supported", hint="export and quantize with opset 13 or later")
    ctx.float_op("Softmax", [ctx.dequantize(X, X_scale, x_zero_point)], ctx.output(), y_scale, y_zero_point,
                 axis=axis)
