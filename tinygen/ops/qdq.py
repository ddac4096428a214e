"""QuantizeLinear / DequantizeLinear: how quantized (QDQ) models enter tinygen.

A QDQ model states the int8 parameters of its tensors with Q/DQ nodes around float ops; tinygen
runs those ops as int8 kernels with exactly those parameters, so no calibration is needed and
models converted from TFLite reproduce TFLite's bytes. Q and DQ therefore emit no code:
  * DequantizeLinear of a constant (weights, biases) becomes that constant, remembering the
    integers behind it (frontend/importer.py QuantInfo) so they are used unchanged;
  * QuantizeLinear of a run-time tensor, and DequantizeLinear of one, annotate the tensor with
    their (scale, zero point) and alias it: the float ops between them read and write the same
    int8 tensors; a Q that changes the parameters of an already quantized tensor becomes a
    requantization (a lookup table computed with TFLite's fixed-point arithmetic).
uint8 tensors become int8 by moving the zero point down by 128 (the same real values).

onnxruntime's QOperator form (QLinearConv, QLinearMatMul, ...) reaches this import already expanded
into QDQ (ops/qoperator.py, frontend/expand.py); its forms without an expansion and dynamic
quantization are refused with a message naming the form and what to do instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir import QuantParams
from .base import Unsupported, onnx_op

if TYPE_CHECKING:
    from .onnx_import import ImportContext, Value

SUPPORTED_TYPES = {np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int32)}
INT16 = np.dtype(np.int16)  # 16-bit activations (issue 16: TFLite's 16x8 scheme, onnxruntime's QInt16)


def _params(scale: Value, zero_point: Value | None, data_dtype: np.dtype,
            block_size: int) -> tuple[np.ndarray, np.ndarray]:
    if block_size:
        raise Unsupported("blocked quantization (block_size) is not supported")
    if scale.const is None or (zero_point is not None and zero_point.const is None):
        raise Unsupported("the scale and zero point must be constants")
    scales = np.asarray(scale.const, np.float32).reshape(-1)
    if zero_point is None:
        zero_points = np.zeros(scales.shape, np.int32)
    else:
        zero_points = np.asarray(zero_point.const).astype(np.int32).reshape(-1)
    if data_dtype == np.uint8:
        zero_points = zero_points - 128  # uint8 q = int8 q + 128: the same real value
    if not np.all(scales > 0) or not np.all(np.isfinite(scales)):
        raise Unsupported("scales must be positive and finite")
    return scales, zero_points


def _per_tensor(scales: np.ndarray, zero_points: np.ndarray, what: str) -> QuantParams:
    if scales.size != 1:
        raise Unsupported(f"per-axis quantization of {what} is not supported (only of constants)")
    return QuantParams.per_tensor(float(scales[0]), int(zero_points[0]))


@onnx_op("DequantizeLinear", layout="transparent",
         constraints="int8/uint8/int32 input; per-tensor, or per-axis for constants")
def DequantizeLinear(ctx: ImportContext, x: Value, x_scale: Value, x_zero_point: Value | None = None, *,
                     axis: int = 1, block_size: int = 0) -> None:
    from .onnx_import import QuantInfo

    node = ctx.node
    assert node is not None
    dtype = np.dtype(x.const.dtype) if x.const is not None else _onnx_dtype(ctx, x)
    if dtype == INT16 and x.const is None:  # an int16 activation: the tensor is stored int16
        assert x.tensor is not None
        ctx.graph.tensors[x.tensor].dtype = "int16"
    elif dtype not in SUPPORTED_TYPES:
        raise Unsupported(f"dequantizing {dtype} is not supported (int8, uint8, int32 are)")
    scales, zero_points = _params(x_scale, x_zero_point, dtype, block_size)
    if x.const is not None:
        values = x.const.astype(np.int32)
        if dtype == np.uint8:
            values = values - 128
        values = values.astype(np.int8 if dtype != np.int32 else np.int32)
        axis = axis % max(values.ndim, 1) if scales.size > 1 else 0
        shape = [1] * values.ndim
        if scales.size > 1:
            shape[axis] = -1
        real = (values.astype(np.float32) - zero_points.reshape(shape).astype(np.float32)) * scales.reshape(shape)
        info = QuantInfo(values, scales, zero_points, axis if scales.size > 1 else None)
        ctx.set_constant(node.output[0], real.astype(np.float32), quant=info)
        return
    assert x.tensor is not None
    quant = _per_tensor(scales, zero_points, "a run-time tensor")
    tensor = ctx.graph.tensors[x.tensor]
    if tensor.quant is None:
        tensor.quant = quant
    elif not tensor.quant.same_as(quant):
        raise Unsupported("the tensor is dequantized with parameters that differ from those it was "
                          "quantized with")
    ctx.alias(node.output[0], x)


@onnx_op("QuantizeLinear", layout="transparent", constraints="int8/uint8 output, per-tensor, of a run-time tensor")
def QuantizeLinear(ctx: ImportContext, x: Value, y_scale: Value, y_zero_point: Value | None = None, *,
                   axis: int = 1, saturate: int = 1, block_size: int = 0, output_dtype: int = 0) -> None:
    node = ctx.node
    assert node is not None
    out_dtype = np.dtype(np.asarray(y_zero_point.const).dtype) if (
        y_zero_point is not None and y_zero_point.const is not None) else np.dtype(np.uint8)
    if output_dtype:
        from onnx import helper

        out_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(output_dtype))
    if out_dtype not in (np.dtype(np.int8), np.dtype(np.uint8), INT16):
        raise Unsupported(f"quantizing to {out_dtype} is not supported (int8, uint8, int16 are)")
    scales, zero_points = _params(y_scale, y_zero_point, out_dtype, block_size)
    if x.const is not None:  # onnxruntime's quantizer also quantizes Constant nodes (a class token, 0.5 in GELU)
        ctx.set_constant(node.output[0], _quantize_constant(np.asarray(x.const, np.float32), scales, zero_points,
                                                           axis, out_dtype))
        return
    quant = _per_tensor(scales, zero_points, "a run-time tensor")
    assert x.tensor is not None
    tensor = ctx.graph.tensors[x.tensor]
    stored = "int16" if out_dtype == INT16 else "float32"  # int16: declared so (quantize/quantize.py keeps it)
    if tensor.quant is None:
        tensor.quant = quant
        tensor.dtype = stored if stored == "int16" else tensor.dtype
        ctx.alias(node.output[0], x)
    elif tensor.quant.same_as(quant) and (tensor.dtype == "int16") == (stored == "int16"):
        ctx.alias(node.output[0], x)
    else:  # requantize a quantized tensor to new parameters (or between int8 and int16)
        out = ctx.output_value(node.output[0])
        ctx.graph.tensors[out.runtime].quant = quant
        if "int16" in (stored, tensor.dtype):
            ctx.graph.tensors[out.runtime].dtype = stored
            ctx.emit("convert", [x.runtime], [out.runtime])
        else:
            ctx.emit("lut", [x.runtime], [out.runtime], function="requantize", args={})


def _quantize_constant(x: np.ndarray, scales: np.ndarray, zero_points: np.ndarray, axis: int,
                       dtype: np.dtype) -> np.ndarray:
    """ONNX QuantizeLinear on a constant, as onnxruntime computes it: round half to even, saturate. The
    zero points are int8 here (_params moved uint8 ones down by 128), so a uint8 result moves back up;
    int16 ones are as given."""
    shape = [1] * x.ndim
    if scales.size > 1:
        shape[axis % x.ndim] = -1
    q = np.rint(x / scales.reshape(shape)).astype(np.float64) + zero_points.reshape(shape)  # float32 division
    if dtype == INT16:
        return np.clip(q, -32768, 32767).astype(np.int16)
    q = np.clip(q, -128, 127)
    return (q + 128).astype(np.uint8) if dtype == np.uint8 else q.astype(np.int8)


def _onnx_dtype(ctx: ImportContext, x: Value) -> np.dtype:
    if x.name in ctx.loaded.values:
        return np.dtype(ctx.loaded.values[x.name].dtype)
    return np.dtype(x.dtype)


# The QOperator forms tinygen does not expand (ops/qoperator.py expands the others), and dynamic quantization.
QOPERATOR_FORMS = ["QLinearReduceMean", "QLinearWhere", "QLinearConvTranspose", "ConvInteger", "MatMulInteger",
                   "MatMulIntegerToFloat", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"]


def _refuse_qoperator(ctx: ImportContext) -> None:
    op = ctx.node.op_type if ctx.node is not None else "?"
    if op.startswith("Dynamic") or op.endswith("Integer") or op == "MatMulIntegerToFloat":
        raise Unsupported(f"dynamic quantization ({op}) is not supported: tinygen needs static int8 "
                          "parameters", hint="quantize with onnxruntime.quantization.quantize_static "
                                             "(QDQ format), or compile the float model with --calib")
    raise Unsupported(f"onnxruntime's QOperator format ({op}) is not supported",
                      hint="quantize with quantize_static(..., quant_format=QuantFormat.QDQ), or "
                           "compile the float model with --calib")


# Their layout kinds as their QDQ twins' (frontend/layout.py), so a refused model is laid out as compile would.
_SPATIAL_FORMS = {"QLinearConvTranspose", "ConvInteger"}
_TRANSPARENT_FORMS = {"QLinearWhere"}
for _domain in ("", "com.microsoft"):
    for _layout, _forms in (("spatial", _SPATIAL_FORMS), ("transparent", _TRANSPARENT_FORMS),
                            ("", set(QOPERATOR_FORMS) - _SPATIAL_FORMS - _TRANSPARENT_FORMS)):
        onnx_op(*[form for form in QOPERATOR_FORMS if form in _forms], constraints="not supported: use the QDQ format",
                domain=_domain, refuses=True, layout=_layout)(_refuse_qoperator)
