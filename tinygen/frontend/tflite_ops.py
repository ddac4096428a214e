"""TFLite builtin operators -> tinygen IR ops, one function per operator (TFLITE_OPS).

Each function reads its TFLite operator (tensor indices, builtin options) and emits the IR nodes a
QDQ ONNX model of the same layer imports to, with the file's quantization parameters, so the
passes, the quantizer and the code generator treat both alike. Where TFLite Micro's int8
arithmetic for an operator is not the IR kernel's, the mapping either builds the kernel's table
from TFLM's integer recipe (RELU, RELU6, RELU_N1_TO_1) or refuses the operator by name: tinygen
never silently computes other bytes than TFLM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import arith
from ..errors import ProblemCollector
from ..ir import QuantParams, Tensor
from ..ops.base import Unsupported
from ..ops.lstm import cell_scale_power
from .loader import ValueInfo
from .tflite import TfliteImport, TfliteOperator, TfliteTensor

# ActivationFunctionType -> the IR's fused clamp in real values (ops/common.activation_range).
ACTIVATIONS: dict[int, dict[str, float | None] | None] = {
    0: None, 1: {"min": 0.0, "max": None}, 2: {"min": -1.0, "max": 1.0}, 3: {"min": 0.0, "max": 6.0}}
ACTIVATION_NAMES = {4: "TANH", 5: "SIGN_BIT"}
SAME, VALID = 0, 1  # Padding

TFLITE_OPS: dict[str, Callable[[TfliteImport, TfliteOperator], None]] = {}
TFLITE_CONSTRAINTS: dict[str, tuple[str, bool]] = {}  # name -> (what is supported, or why not; supported?)


def tflite_op(*names: str, constraints: str = "", refuses: bool = False) -> Callable[
        [Callable[[TfliteImport, TfliteOperator], None]], Callable[[TfliteImport, TfliteOperator], None]]:
    """Register a mapping for TFLite builtin operators; `tinygen ops` lists `constraints` (or, for
    an operator registered only to explain its refusal, the reason)."""
    def decorate(function: Callable[[TfliteImport, TfliteOperator], None]) -> Callable[
            [TfliteImport, TfliteOperator], None]:
        for name in names:
            TFLITE_OPS[name] = function
            TFLITE_CONSTRAINTS[name] = (constraints, not refuses)
        return function

    return decorate


# --- checks shared by the mappings -----------------------------------------------------------------

# 16x8 models (issue 16): the operators whose IR runs int16 activations with int8 weights (ops/s16.py).
# Their int16 tensors are declared int16 (TfliteImport.output) with their symmetric parameters, biases are
# int64 (or int32), and QUANTIZE between int8 and int16 is a conversion (ops/convert.py).
S16_OPERATORS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "SUB",
                 "MUL", "CONCATENATION", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "SOFTMAX", "MEAN", "QUANTIZE", "LOGISTIC",
                 "TANH"}


def _int8(ctx: TfliteImport, index: int, what: str = "input") -> TfliteTensor:
    """An int8 activation tensor of the current operator (or int16, for the operators of S16_OPERATORS)."""
    t = ctx.tensor(index)
    if t.type_name == "int16" and ctx.op is not None and ctx.op.op in S16_OPERATORS:
        if t.dynamic:
            raise Unsupported(f"{what} '{t.name}' has a dynamic shape", hint="convert with fixed input shapes")
        return t
    if t.type_name == "int8":
        if t.dynamic:
            raise Unsupported(f"{what} '{t.name}' has a dynamic shape", hint="convert with fixed input shapes")
        return t
    if t.type_name == "int16":
        raise Unsupported(f"{what} '{t.name}' is int16: {ctx.op.op if ctx.op else 'this operator'} with 16-bit "
                          "activations (16x8) is not supported yet",
                          hint="16x8 runs " + ", ".join(sorted(S16_OPERATORS)) + "; convert the others with int8 "
                          "activations")
    if t.type_name in ("float32", "float16"):
        raise Unsupported(f"{what} '{t.name}' is {t.type_name}: the operator runs in float, tinygen compiles "
                          "fully int8-quantized models", hint="convert with full-integer quantization "
                          "(converter.optimizations + representative_dataset, int8 builtins only)")
    raise Unsupported(f"{what} '{t.name}' has type {t.type_name}; tinygen compiles int8 tensors")


def _activation(ctx: TfliteImport, op: TfliteOperator) -> dict[str, float | None] | None:
    code = int(op.options.FusedActivationFunction()) if op.options is not None else 0
    if code not in ACTIVATIONS:
        raise Unsupported(f"fused activation {ACTIVATION_NAMES.get(code, code)} is not supported")
    return ACTIVATIONS[code]


def _no_clamp(ctx: TfliteImport, op: TfliteOperator, out: TfliteTensor) -> None:
    """Ops whose IR kernel has no clamp: a fused activation is accepted only where it clamps nothing."""
    activation = _activation(ctx, op)
    if activation is None:
        return
    quant = _quant(out)
    dtype = "int16" if out.type_name == "int16" else "int8"
    if arith.activation_bounds(activation.get("min"), activation.get("max"), quant.scale_value,
                               quant.zero_point_value, dtype) != arith.DTYPE_RANGES[dtype]:
        raise Unsupported(f"a fused activation that clamps the output of {op.op} is not supported")


def _quant(t: TfliteTensor) -> QuantParams:
    if t.quant is None:
        raise Unsupported(f"tensor '{t.name}' has no quantization parameters")
    if t.quant.scale.size != 1:
        raise Unsupported(f"tensor '{t.name}' is quantized per channel; activations must be per tensor")
    return QuantParams.per_tensor(float(t.quant.scale[0]), int(t.quant.zero_point[0]))


def _same_quant(op: TfliteOperator, a: TfliteTensor, b: TfliteTensor) -> None:
    """Data-movement ops copy int8 values: TFLite requires the output to keep the input's parameters."""
    if not _quant(a).same_as(_quant(b)):
        raise Unsupported(f"{op.op} changes the quantization parameters ('{a.name}' -> '{b.name}'); "
                          "TFLite requires them equal for this operator")


def _weights(ctx: TfliteImport, index: int, channel_axis: int, hint: str) -> tuple[str, TfliteTensor]:
    """A constant int8 weight tensor as the file stores it (TFLite's orders are tinygen's)."""
    t = ctx.tensor(index)
    if t.data is None:
        raise Unsupported(f"the weights '{t.name}' are computed at run time; tinygen needs constant weights")
    if t.type_name != "int8":
        what = "int4 (packed)" if t.type_name == "int4" else t.type_name
        raise Unsupported(f"weights '{t.name}' are {what}; tinygen takes int8 weights",
                          hint="convert with full-integer int8 quantization")
    if t.quant is None:
        raise Unsupported(f"weights '{t.name}' have no quantization parameters")
    if np.any(t.quant.zero_point != 0):
        raise Unsupported(f"weights '{t.name}' have a non-zero zero point; TFLite int8 weights are symmetric")
    if t.quant.scale.size > 1:
        if t.quant.axis != channel_axis or t.quant.scale.size != t.shape[channel_axis]:
            raise Unsupported(f"weights '{t.name}' are quantized along axis {t.quant.axis}; the output channel "
                              f"axis is {channel_axis}")
        quant = QuantParams(t.quant.scale, t.quant.zero_point, channel_axis)
    else:
        quant = QuantParams(t.quant.scale, t.quant.zero_point)
    return ctx.constant(hint, t.data, quant), t


def _bias(ctx: TfliteImport, op: TfliteOperator, channels: int, input_scale: float,
          weights: TfliteTensor) -> str:
    """The int32 bias (zeros when the operator has none), with scale s_in * s_w as TFLite defines it."""
    index = op.inputs[2] if len(op.inputs) > 2 else -1
    if index < 0:
        assert weights.quant is not None
        scales = (np.float64(input_scale) * np.broadcast_to(weights.quant.scale, (channels,))).astype(np.float32)
        return ctx.constant("bias", np.zeros(channels, np.int32), QuantParams(scales, np.zeros(channels, np.int32), 0))
    t = ctx.tensor(index)
    if t.data is None:
        raise Unsupported(f"the bias '{t.name}' is computed at run time; tinygen needs a constant bias")
    if t.type_name not in ("int32", "int64") or t.quant is None:  # int64: 16x8
        raise Unsupported(f"bias '{t.name}' is {t.type_name}; TFLite int8 models have int32 biases")
    if t.data.size != channels:
        raise Unsupported(f"bias '{t.name}' has {t.data.size} values for {channels} output channels")
    axis = 0 if t.quant.scale.size > 1 else None
    return ctx.constant("bias", t.data.reshape(channels), QuantParams(t.quant.scale, t.quant.zero_point, axis))


def _window(ctx: TfliteImport, op: TfliteOperator, x: TfliteTensor, out: TfliteTensor, kernel: tuple[int, int],
            stride: tuple[int, int], dilation: tuple[int, int]) -> dict[str, object]:
    """The IR window attributes (pads top, left, bottom, right) of TFLite's SAME or VALID padding."""
    padding = int(op.options.Padding())
    pads = [0, 0, 0, 0]
    for axis in range(2):
        size, k, s, d = x.shape[1 + axis], kernel[axis], stride[axis], dilation[axis]
        span = (k - 1) * d + 1
        if padding == SAME:
            out_size = (size + s - 1) // s
            total = max(0, (out_size - 1) * s + span - size)
            pads[axis], pads[axis + 2] = total // 2, total - total // 2  # the odd row/column goes at the end
        elif padding == VALID:
            out_size = (size - span + s) // s
        else:
            raise Unsupported(f"padding type {padding} is not supported")
        if out_size != out.shape[1 + axis]:
            raise Unsupported(f"the output size {out.shape[1 + axis]} does not match the window arithmetic "
                              f"({out_size})")
    return {"kernel": list(kernel), "stride": list(stride), "dilation": list(dilation), "pads": pads,
            "ceil_mode": False}


def _rank4(ctx: TfliteImport, t: TfliteTensor, what: str) -> None:
    if len(t.shape) != 4:
        raise Unsupported(f"{what} '{t.name}' has rank {len(t.shape)}; expected [N, H, W, C]")


# --- graph edges -----------------------------------------------------------------------------------

def edge_inputs(ctx: TfliteImport, problems: ProblemCollector) -> set[int]:
    """Declare the model inputs as IR graph inputs. A float input whose only reader is QUANTIZE is
    that QUANTIZE's int8 output (the generated API quantizes floats with TFLite's rounding); the
    QUANTIZE operators folded in this way are returned."""
    model, graph = ctx.model, ctx.graph
    folded: set[int] = set()
    for index in model.inputs:
        t = model.tensors[index]
        readers = [op for op in model.operators if index in op.inputs]
        source = t
        if t.type_name == "float32" and len(readers) == 1 and readers[0].op == "QUANTIZE":
            source = model.tensors[readers[0].outputs[0]]
            folded.add(readers[0].index)
        if source.type_name not in ("int8", "int16") or source.quant is None or source.quant.scale.size != 1:
            problems.add(f"model input '{t.name}' is {t.type_name}; tinygen compiles int8 models (a float input "
                         "must be quantized by a QUANTIZE operator)",
                         hint="convert with full-integer quantization")
            continue
        if len(t.shape) > 4 or t.dynamic:
            problems.add(f"model input '{t.name}' has shape {list(t.shape)}"
                         + ("with dynamic dimensions" if t.dynamic else "; tinygen handles rank <= 4"))
            continue
        name = graph.unique_name(t.name)
        graph.add_tensor(_activation_tensor(name, source))
        graph.inputs.append(name)
        ctx.names[index] = name
        ctx.names[source.index] = name
        model.values[name] = ValueInfo(t.shape, np.dtype(np.float32 if t.type_name == "float32" else t.type_name))
    return folded


def edge_outputs(ctx: TfliteImport) -> tuple[set[int], dict[int, int]]:
    """A model output made by DEQUANTIZE of an int8 tensor is that tensor (the API dequantizes with
    TFLite's arithmetic). Returns the DEQUANTIZE operators folded and, per such output, the int8
    tensor that stands for it."""
    model = ctx.model
    folded, stands_for = set(), {}
    for index in model.outputs:
        producer = next((op for op in model.operators if index in op.outputs), None)
        if producer is None or producer.op != "DEQUANTIZE":
            continue
        source = model.tensors[producer.inputs[0]]
        readers = [op for op in model.operators if source.index in op.inputs]
        if source.type_name in ("int8", "int16") and not source.is_constant and len(readers) == 1:
            folded.add(producer.index)
            stands_for[index] = source.index
    return folded, stands_for


def _declared(t: TfliteTensor) -> str:
    """The IR type an activation is declared with: int16 for a 16x8 tensor, else float32 (int8 once quantized)."""
    return "int16" if t.type_name == "int16" else "float32"


def _activation_tensor(name: str, t: TfliteTensor) -> Tensor:
    return Tensor(name, t.shape, "int16" if t.type_name == "int16" else "float32", quant=_quant(t), onnx_shape=t.shape)


# --- operators -------------------------------------------------------------------------------------

@tflite_op("CONV_2D",
           constraints="int8; constant int8 weights (per channel or per tensor), int32 bias; SAME/VALID, any "
                       "stride and dilation; grouped; fused RELU/RELU6/RELU_N1_TO_1")
def conv_2d(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    _rank4(ctx, x, "input")
    weights, w = _weights(ctx, op.inputs[1], 0, "weights")
    if len(w.shape) != 4:
        raise Unsupported(f"weights of rank {len(w.shape)}; CONV_2D takes [C_out, KH, KW, C_in]")
    if x.shape[3] % w.shape[3]:
        raise Unsupported(f"{x.shape[3]} input channels are not a multiple of the filter's {w.shape[3]}")
    o = op.options
    window = _window(ctx, op, x, out, (w.shape[1], w.shape[2]), (o.StrideH(), o.StrideW()),
                     (o.DilationHFactor(), o.DilationWFactor()))
    bias = _bias(ctx, op, w.shape[0], _quant(x).scale_value, w)
    ctx.emit("conv2d", [ctx.runtime(op.inputs[0]), weights, bias], [ctx.output(op.outputs[0])],
             groups=x.shape[3] // w.shape[3], activation=_activation(ctx, op), **window)


@tflite_op("DEPTHWISE_CONV_2D", constraints="as CONV_2D; any depth multiplier")
def depthwise_conv_2d(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    _rank4(ctx, x, "input")
    weights, w = _weights(ctx, op.inputs[1], 3, "weights")
    if len(w.shape) != 4 or w.shape[0] != 1 or w.shape[3] % x.shape[3]:
        raise Unsupported(f"depthwise weights of shape {list(w.shape)} for {x.shape[3]} input channels")
    o = op.options
    window = _window(ctx, op, x, out, (w.shape[1], w.shape[2]), (o.StrideH(), o.StrideW()),
                     (o.DilationHFactor(), o.DilationWFactor()))
    bias = _bias(ctx, op, w.shape[3], _quant(x).scale_value, w)
    ctx.emit("depthwise_conv2d", [ctx.runtime(op.inputs[0]), weights, bias], [ctx.output(op.outputs[0])],
             depth_multiplier=w.shape[3] // x.shape[3], activation=_activation(ctx, op), **window)


@tflite_op("FULLY_CONNECTED",
           constraints="int8; constant int8 weights [N, K] (per channel or per tensor); default weights format; "
                       "keep_num_dims")
def fully_connected(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    if op.options is not None and int(op.options.WeightsFormat()) != 0:
        raise Unsupported("shuffled fully connected weights (weights_format) are not supported")
    weights, w = _weights(ctx, op.inputs[1], 0, "weights")
    if len(w.shape) != 2:
        raise Unsupported(f"weights of rank {len(w.shape)}; FULLY_CONNECTED takes [N, K]")
    outputs, depth = w.shape
    size = int(np.prod(x.shape))
    if size % depth:
        raise Unsupported(f"the input's {size} values are not rows of {depth}")
    rows = size // depth
    source = ctx.runtime(op.inputs[0])
    if tuple(x.shape) != (rows, depth):  # TFLite flattens the input to [rows, K]: a free reshape
        flat = ctx.intermediate(f"{x.name}_rows", (rows, depth), _quant(x), _declared(x))
        ctx.emit("reshape", [source], [flat])
        source = flat
    bias = _bias(ctx, op, outputs, _quant(x).scale_value, w)
    if tuple(out.shape) == (rows, outputs):
        ctx.emit("fully_connected", [source, weights, bias], [ctx.output(op.outputs[0])],
                 activation=_activation(ctx, op))
        return
    if int(np.prod(out.shape)) != rows * outputs:
        raise Unsupported(f"output shape {list(out.shape)} does not hold {rows} x {outputs} values")
    result = ctx.intermediate(f"{out.name}_rows", (rows, outputs), _quant(out), _declared(out))
    ctx.emit("fully_connected", [source, weights, bias], [result], activation=_activation(ctx, op))
    ctx.emit("reshape", [result], [ctx.output(op.outputs[0])])  # keep_num_dims


@tflite_op("AVERAGE_POOL_2D", "MAX_POOL_2D",
           constraints="int8, output parameters equal to the input's; SAME/VALID; a fused activation only where it"
                       " clamps nothing")
def pool_2d(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    _rank4(ctx, x, "input")
    _same_quant(op, x, out)
    _no_clamp(ctx, op, out)
    o = op.options
    window = _window(ctx, op, x, out, (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW()), (1, 1))
    if op.op == "AVERAGE_POOL_2D":  # TFLite divides by the number of taps inside the input
        ctx.emit("avg_pool", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], **window,
                 count_include_pad=False)
    else:
        ctx.emit("max_pool", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], **window)


def _operand(ctx: TfliteImport, index: int, rank: int, hint: str) -> str:
    """One operand of a broadcasting binary op, aligned to the output's rank (leading 1s, as TFLite
    broadcasts); a constant operand is int8 with its own parameters."""
    t = ctx.tensor(index)
    shape = (1,) * (rank - len(t.shape)) + tuple(t.shape)
    if t.data is not None:
        if t.type_name not in ("int8", "int16") or t.quant is None or t.quant.scale.size != 1:  # int16: 16x8
            raise Unsupported(f"constant operand '{t.name}' is {t.type_name}; an int8 per-tensor constant is needed")
        return ctx.constant(hint, t.data.reshape(shape), _quant(t))
    _int8(ctx, index)
    source = ctx.runtime(index)
    if shape != tuple(t.shape):
        aligned = ctx.intermediate(f"{t.name}_{rank}d", shape, _quant(t), _declared(t))
        ctx.emit("reshape", [source], [aligned])
        return aligned
    return source


@tflite_op("ADD", "SUB", "MUL",
           constraints="int8, broadcasting up to rank 4; a constant operand int8 per tensor; fused activation")
def binary(ctx: TfliteImport, op: TfliteOperator) -> None:
    out = _int8(ctx, op.outputs[0], "output")
    rank = len(out.shape)
    if rank > 4:
        raise Unsupported(f"rank-{rank} tensors are not supported")
    if all(ctx.tensor(i).data is not None for i in op.inputs[:2]):
        raise Unsupported("both operands are constants")
    a = _operand(ctx, op.inputs[0], rank, "operand")
    b = _operand(ctx, op.inputs[1], rank, "operand")
    attrs: dict[str, object] = {"activation": _activation(ctx, op)}
    if op.op == "SUB":
        attrs["subtract"] = True
    ctx.emit("mul" if op.op == "MUL" else "add", [a, b], [ctx.output(op.outputs[0])], **attrs)


@tflite_op("MAXIMUM", "MINIMUM",
           constraints="int8, inputs and output with the same parameters (TFLite requires it), broadcasting up to "
                       "rank 4")
def maximum_minimum(ctx: TfliteImport, op: TfliteOperator) -> None:
    out = _int8(ctx, op.outputs[0], "output")
    rank = len(out.shape)
    if rank > 4:
        raise Unsupported(f"rank-{rank} tensors are not supported")
    for index in op.inputs[:2]:  # TFLM compares the raw int8 values: no rescaling to undo
        _same_quant(op, ctx.tensor(index), out)
    a = _operand(ctx, op.inputs[0], rank, "operand")
    b = _operand(ctx, op.inputs[1], rank, "operand")
    ctx.emit("minmax", [a, b], [ctx.output(op.outputs[0])], maximum=op.op == "MAXIMUM", activation=None)


@tflite_op("PRELU", constraints="int8, a constant int8 slope: one value or one per channel (shared over the other "
                                "axes)")
def prelu(ctx: TfliteImport, op: TfliteOperator) -> None:
    """TFLM's int8 PRELU is the IR's prelu op (ops/prelu.py implements TFLite's arithmetic); a slope
    that varies over more than the channel axis is refused."""
    x = _int8(ctx, op.inputs[0])
    _int8(ctx, op.outputs[0], "output")
    alpha = ctx.tensor(op.inputs[1])
    if alpha.data is None:
        raise Unsupported(f"the slope '{alpha.name}' is computed at run time; it must be a constant")
    if alpha.type_name != "int8" or alpha.quant is None or alpha.quant.scale.size != 1:
        raise Unsupported(f"slope '{alpha.name}' is {alpha.type_name}; an int8 per-tensor constant is needed")
    channels = x.shape[-1]
    values = alpha.data.reshape((1,) * (len(x.shape) - alpha.data.ndim) + alpha.data.shape)
    per_channel = values.reshape(-1, values.shape[-1])
    if values.shape[-1] not in (1, channels) or np.any(per_channel != per_channel[:1]):
        raise Unsupported(f"a slope of shape {list(alpha.data.shape)} that varies over more than the channel "
                          "axis", hint="share the PReLU slope over the spatial axes (Keras shared_axes=[1, 2])")
    slope = np.broadcast_to(per_channel[0], (channels,)).astype(np.int8)
    ctx.emit("prelu", [ctx.runtime(op.inputs[0]), ctx.constant("slope", slope, _quant(alpha))],
             [ctx.output(op.outputs[0])])


@tflite_op("CONCATENATION", constraints="int8 along any axis; constant operands too; parameters kept")
def concatenation(ctx: TfliteImport, op: TfliteOperator) -> None:
    out = _int8(ctx, op.outputs[0], "output")
    _no_clamp(ctx, op, out)
    axis = int(op.options.Axis()) % len(out.shape)
    names = []
    for index in op.inputs:
        t = ctx.tensor(index)
        if t.data is not None:
            if t.type_name != "int8" or t.quant is None or t.quant.scale.size != 1:
                raise Unsupported(f"constant operand '{t.name}' is {t.type_name}; an int8 per-tensor constant is "
                                  "needed")
            names.append(ctx.constant("concat_operand", t.data.reshape(t.shape), _quant(t)))
        else:
            _int8(ctx, index)
            names.append(ctx.runtime(index))
    ctx.emit("concat", names, [ctx.output(op.outputs[0])], axis=axis)


# --- data movement: the IR's index-map ops (ops/copy.py). TFLite stores tensors in the order of their
# shape, as tinygen does, so a movement's map is numpy's own slicing of an arange in that shape. ---

def _constant_ints(ctx: TfliteImport, index: int, what: str) -> list[int]:
    t = ctx.tensor(index)
    if t.data is None:
        raise Unsupported(f"the {what} ('{t.name}') are computed at run time; they must be constants")
    return [int(v) for v in np.asarray(t.data).reshape(-1)]


def _move(ctx: TfliteImport, op: TfliteOperator, positions: np.ndarray, output: int) -> None:
    """Emit the movement of the current operator's input 0 given by `positions` (input element
    positions, in the output's shape) into its output `output`."""
    from ..ops.copy import movement_node

    x = ctx.tensor(op.inputs[0])
    out = _int8(ctx, output, "output")
    _same_quant(op, x, out)
    if positions.size != int(np.prod(out.shape, dtype=np.int64)):
        raise Unsupported(f"the output shape {list(out.shape)} does not hold the {positions.size} values moved")
    source = ctx.runtime(op.inputs[0])
    ctx.graph.nodes.append(movement_node(ctx.graph, ctx.node_name, source, ctx.output(output),
                                         positions.reshape(-1).astype(np.int64)))


def _positions(x: TfliteTensor) -> np.ndarray:
    return np.arange(int(np.prod(x.shape, dtype=np.int64)), dtype=np.int64).reshape(x.shape)


@tflite_op("TRANSPOSE", constraints="int8, a constant permutation of up to 6 axes (one strided copy)")
def transpose(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    perm = _constant_ints(ctx, op.inputs[1], "permutation")
    if sorted(perm) != list(range(len(x.shape))):
        raise Unsupported(f"{perm} is not a permutation of the {len(x.shape)} axes")
    _move(ctx, op, _positions(x).transpose(perm), op.outputs[0])


@tflite_op("SLICE", constraints="int8, constant begin and size (-1: to the end)")
def slice_(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    begin, size = _constant_ints(ctx, op.inputs[1], "begin"), _constant_ints(ctx, op.inputs[2], "size")
    if len(begin) != len(x.shape) or len(size) != len(x.shape):
        raise Unsupported(f"begin {begin} and size {size} do not match the input's rank {len(x.shape)}")
    bounds = tuple(slice(b, dim if s == -1 else b + s) for b, s, dim in zip(begin, size, x.shape, strict=True))
    _move(ctx, op, _positions(x)[bounds], op.outputs[0])


@tflite_op("STRIDED_SLICE",
           constraints="int8, constant begin/end/strides with begin, end and shrink-axis masks (no ellipsis or new "
                       "axes)")
def strided_slice(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    begin, end = _constant_ints(ctx, op.inputs[1], "begin"), _constant_ints(ctx, op.inputs[2], "end")
    strides = _constant_ints(ctx, op.inputs[3], "strides") if len(op.inputs) > 3 else [1] * len(begin)
    o = op.options
    if o.EllipsisMask() or o.NewAxisMask():
        raise Unsupported("STRIDED_SLICE with an ellipsis or new-axis mask is not supported")
    if getattr(o, "Offset", lambda: False)():
        raise Unsupported("STRIDED_SLICE with offset=true is not supported")
    rank = len(x.shape)
    if not len(begin) == len(end) == len(strides) <= rank or 0 in strides:
        raise Unsupported(f"begin {begin}, end {end}, strides {strides} for a rank-{rank} input")
    positions = _positions(x)
    index: list[slice | int] = []
    for axis in range(rank):
        if axis >= len(begin):
            index.append(slice(None))
            continue
        if o.ShrinkAxisMask() & (1 << axis):
            index.append(begin[axis] % x.shape[axis])
            continue
        first = None if o.BeginMask() & (1 << axis) else begin[axis]
        last = None if o.EndMask() & (1 << axis) else end[axis]
        index.append(slice(first, last, strides[axis]))
    _move(ctx, op, positions[tuple(index)], op.outputs[0])


@tflite_op("SPLIT", "SPLIT_V", constraints="int8, a constant axis; SPLIT_V constant sizes (one -1 allowed)")
def split(ctx: TfliteImport, op: TfliteOperator) -> None:
    data_input, axis_input = (1, 0) if op.op == "SPLIT" else (0, 2)
    x = _int8(ctx, op.inputs[data_input])
    axis = _constant_ints(ctx, op.inputs[axis_input], "axis")[0] % len(x.shape)
    parts = len(op.outputs)
    if op.op == "SPLIT":
        if x.shape[axis] % parts:
            raise Unsupported(f"axis {axis} of size {x.shape[axis]} does not split into {parts} equal parts")
        sizes = [x.shape[axis] // parts] * parts
    else:
        sizes = _constant_ints(ctx, op.inputs[1], "split sizes")
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    if len(sizes) != parts or sum(sizes) != x.shape[axis] or min(sizes) <= 0:
        raise Unsupported(f"sizes {sizes} do not split axis {axis} of size {x.shape[axis]} into {parts} parts")
    if data_input != 0:  # _move reads input 0
        op = replace(op, inputs=[op.inputs[data_input]])
    positions, first = _positions(x), 0
    for output, size in zip(op.outputs, sizes, strict=True):
        _move(ctx, op, np.take(positions, np.arange(first, first + size), axis=axis), output)
        first += size


# --- resizing and transposed convolution -------------------------------------------------------------

def _resize_options(ctx: TfliteImport, op: TfliteOperator) -> tuple[TfliteTensor, TfliteTensor, bool, bool]:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    _rank4(ctx, x, "input")
    _same_quant(op, x, out)
    size = _constant_ints(ctx, op.inputs[1], "size")
    if size != list(out.shape[1:3]):
        raise Unsupported(f"the size {size} differs from the output's {list(out.shape[1:3])}")
    align, half = bool(op.options.AlignCorners()), bool(op.options.HalfPixelCenters())
    if align and half:
        raise Unsupported("align_corners and half_pixel_centers together are not supported (TFLite refuses them)")
    return x, out, align, half


def bilinear_taps(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> dict[str, list[int]]:
    """TFLite's integer RESIZE_BILINEAR coordinates (ResizeBilinearInteger): a 10-bit scale
    ((1024 * in + out / 2) / out, or over in - 1 and out - 1 with align_corners), each output index's
    10-bit input coordinate (shifted by half a pixel with half_pixel_centers), its lower and upper
    neighbours clamped to the input, and the weight of the upper one: the coordinate minus 1024 x the
    lower (negative or past 1024 only where both neighbours are the same clamped row, so the two
    weights still sum to 1024 and the value is exact)."""
    if align_corners and out_size > 1:
        scale = (1024 * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = (1024 * in_size + out_size // 2) // out_size
    lower, upper, weight = [], [], []
    for index in range(out_size):
        scaled = index * scale + (scale // 2 - (1 << 9) if half_pixel else 0)
        low = max(int(scaled / 1024), 0)  # C division truncates toward zero
        lower.append(low)
        upper.append(min(int((scaled + 1023) / 1024), in_size - 1))
        weight.append(scaled - 1024 * low)
    return {"0": lower, "1": upper, "w": weight}


def nearest_indices(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> list[int]:
    """TFLite's RESIZE_NEAREST_NEIGHBOR (GetNearestNeighbor): float32 scale in / out (or (in - 1) /
    (out - 1) with align_corners), floor of (index + 0.5 if half_pixel_centers) x scale, or its
    rounding half away from zero with align_corners, clamped to the input."""
    f = np.float32
    scale = f(in_size - 1) / f(out_size - 1) if align_corners and out_size > 1 else f(in_size) / f(out_size)
    offset = f(0.5) if half_pixel else f(0.0)
    indices = []
    for index in range(out_size):
        position = (f(index) + offset) * scale
        value = int(np.floor(position)) if not align_corners else int(np.sign(position) * np.floor(abs(position) + 0.5))
        value = min(value, in_size - 1)
        indices.append(max(value, 0) if half_pixel else value)
    return indices


@tflite_op("RESIZE_BILINEAR", constraints="int8, parameters kept; align_corners or half_pixel_centers; TFLite's "
                                         "10-bit integer interpolation")
def resize_bilinear(ctx: TfliteImport, op: TfliteOperator) -> None:
    x, out, align, half = _resize_options(ctx, op)
    rows = bilinear_taps(out.shape[1], x.shape[1], align, half)
    columns = bilinear_taps(out.shape[2], x.shape[2], align, half)
    ctx.emit("resize", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], mode="linear",
             y0=rows["0"], y1=rows["1"], wy=rows["w"], x0=columns["0"], x1=columns["1"], wx=columns["w"])


@tflite_op("RESIZE_NEAREST_NEIGHBOR", constraints="int8, parameters kept; align_corners or half_pixel_centers")
def resize_nearest(ctx: TfliteImport, op: TfliteOperator) -> None:
    x, out, align, half = _resize_options(ctx, op)
    ctx.emit("resize", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], mode="nearest",
             y0=nearest_indices(out.shape[1], x.shape[1], align, half),
             x0=nearest_indices(out.shape[2], x.shape[2], align, half))


@tflite_op("TRANSPOSE_CONV",
           constraints="int8; constant int8 weights [C_out, KH, KW, C_in] (per channel or per tensor), optional "
                       "int32 bias; SAME/VALID, any stride")
def transpose_conv(ctx: TfliteImport, op: TfliteOperator) -> None:
    """TFLite's TRANSPOSE_CONV is the IR's conv_transpose2d (ops/conv_transpose.py implements its int8
    recipe). TFLite's padding is that of a convolution from the output back to the input: the
    top/left pad is half the total (the odd one at the end), the bottom/right pad whatever makes the
    output the size the file states."""
    x = _int8(ctx, op.inputs[2])
    out = _int8(ctx, op.outputs[0], "output")
    _rank4(ctx, x, "input")
    weights, w = _weights(ctx, op.inputs[1], 0, "weights")
    if len(w.shape) != 4 or w.shape[3] != x.shape[3]:
        raise Unsupported(f"weights of shape {list(w.shape)} for {x.shape[3]} input channels")
    o = op.options
    stride, kernel = (int(o.StrideH()), int(o.StrideW())), (w.shape[1], w.shape[2])
    pads = [0, 0, 0, 0]
    for axis in range(2):
        in_size, out_size = x.shape[1 + axis], out.shape[1 + axis]
        if int(o.Padding()) == SAME:
            total = max((in_size - 1) * stride[axis] + kernel[axis] - out_size, 0)
            pads[axis] = total // 2
        pads[axis + 2] = (in_size - 1) * stride[axis] + kernel[axis] - pads[axis] - out_size
        if pads[axis + 2] < 0:
            raise Unsupported(f"the output size {out_size} is larger than the transposed convolution gives")
    activation = _activation(ctx, op) if hasattr(o, "FusedActivationFunction") else None
    as_conv = replace(op, inputs=[op.inputs[2], op.inputs[1], *op.inputs[3:4]])  # _bias reads input 2
    bias = _bias(ctx, as_conv, w.shape[0], _quant(x).scale_value, w)
    ctx.emit("conv_transpose2d", [ctx.runtime(op.inputs[2]), weights, bias], [ctx.output(op.outputs[0])],
             groups=1, activation=activation, kernel=list(kernel), stride=list(stride), dilation=[1, 1], pads=pads,
             ceil_mode=False)


@tflite_op("RESHAPE", "SQUEEZE", "EXPAND_DIMS", constraints="int8, parameters kept (no code, an alias)")
def reshape(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    _same_quant(op, x, out)
    if int(np.prod(x.shape)) != int(np.prod(out.shape)):
        raise Unsupported(f"reshape of {list(x.shape)} to {list(out.shape)} changes the size")
    ctx.emit("reshape", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])])


@tflite_op("SOFTMAX", constraints="int8, any beta, at most 8191 values per row (TFLite's Q12.19 sum)")
def softmax(ctx: TfliteImport, op: TfliteOperator) -> None:
    from ..ops.softmax import MAX_DEPTH

    x = _int8(ctx, op.inputs[0])
    _int8(ctx, op.outputs[0], "output")
    if x.shape and x.shape[-1] > MAX_DEPTH:
        raise Unsupported(f"softmax over {x.shape[-1]} values; TFLite's int8 algorithm sums the exponentials "
                          f"in Q12.19, which overflows beyond {MAX_DEPTH}")
    beta = float(op.options.Beta()) if op.options is not None else 1.0
    ctx.emit("softmax", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], beta=beta)


@tflite_op("QUANTIZE",
           constraints="float input -> int8 at a model input (the API's float boundary); int8 -> int8 "
                       "requantization")
def quantize(ctx: TfliteImport, op: TfliteOperator) -> None:
    """int8 -> int8 inside the graph: TFLite's requantization (a QUANTIZE of a float model input is
    folded into the graph input by edge_inputs)."""
    x = ctx.tensor(op.inputs[0])
    if x.type_name not in ("int8", "int16"):
        raise Unsupported(f"QUANTIZE of a {x.type_name} tensor inside the graph: the model computes in float "
                          "before it", hint="convert with full-integer quantization")
    out = _int8(ctx, op.outputs[0], "output")
    if "int16" in (x.type_name, out.type_name):  # between int8 and int16 (16x8): TFLite's Requantize
        ctx.emit("convert", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])])
        return
    ctx.emit("lut", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], function="requantize", args={})


@tflite_op("DEQUANTIZE", constraints="int8 -> float at a model output only (the API's float boundary)")
def dequantize(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = ctx.tensor(op.inputs[0])
    if x.is_constant:
        raise Unsupported(f"DEQUANTIZE of the constant '{x.name}' ({x.type_name}) feeds float operators "
                          "(weight-only quantization)", hint="convert with full-integer quantization")
    raise Unsupported("DEQUANTIZE inside the graph: the operators after it compute in float",
                      hint="convert with full-integer quantization (int8 up to the outputs)")


@tflite_op("PAD", "PADV2",
           constraints="int8, constant paddings up to rank 4, non-negative; PADV2 value an int8 constant")
def pad(ctx: TfliteImport, op: TfliteOperator) -> None:
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    _same_quant(op, x, out)
    rank = len(x.shape)
    paddings = ctx.tensor(op.inputs[1]).data
    if paddings is None:
        raise Unsupported("the paddings are computed at run time; they must be constants")
    if rank > 4 or paddings.shape != (rank, 2):
        raise Unsupported(f"paddings of shape {list(paddings.shape)} for a rank-{rank} tensor (rank <= 4 supported)")
    if np.any(paddings < 0):
        raise Unsupported("negative paddings are not supported")
    lead = [0] * (4 - rank)
    pads = lead + [int(p) for p in paddings[:, 0]] + lead + [int(p) for p in paddings[:, 1]]
    value = 0.0  # PAD pads with the zero point: the real value 0
    if op.op == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        constant = ctx.tensor(op.inputs[2])
        if constant.data is None or constant.type_name != "int8" or constant.data.size != 1:
            raise Unsupported("the pad value must be an int8 constant")
        quant = _quant(constant)
        if not quant.same_as(_quant(x)):
            raise Unsupported("the pad value is quantized with other parameters than the input")
        # The IR holds the real value; it quantizes back to exactly this integer (|error| << 1/2 step).
        value = float((np.float32(int(constant.data.reshape(-1)[0]) - quant.zero_point_value))
                      * np.float32(quant.scale_value))
    ctx.emit("pad", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], mode="constant", value=value,
             pads=pads)


@tflite_op("RELU", "RELU6", constraints="int8, TFLM's integer arithmetic as a 256-entry table")
def relu(ctx: TfliteImport, op: TfliteOperator) -> None:
    """TFLM's int8 ReLU as its 256-entry table (the IR's lookup table), from TFLM's integer arithmetic:
      RELU:  requantize to the output's parameters, then clamp at the output's zero:
             out = max(zp_out, zp_out + MBQM(q - zp_in, s_in / s_out)), at most 127;
      RELU6: clamp the raw input between the input's quantized 0 and 6, no requantization (TFLM
             takes the output's parameters to be the input's)."""
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    q_in, q_out = _quant(x), _quant(out)
    q = np.arange(-128, 128, dtype=np.int64)
    if op.op == "RELU6":
        low, high = arith.activation_bounds(0.0, 6.0, q_in.scale_value, q_in.zero_point_value)
        table = np.clip(q, low, high)
    else:
        act_min, act_max = arith.activation_bounds(0.0, None, q_out.scale_value, q_out.zero_point_value)
        multiplier, shift = arith.quantize_multiplier(np.float64(q_in.scale_value) / np.float64(q_out.scale_value))
        table = arith.requantize(q - q_in.zero_point_value, multiplier, shift, q_out.zero_point_value, act_min,
                                 act_max)
    ctx.emit("lut", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], function="table",
             args={"table": [int(v) for v in table]})


# Functions whose TFLM int8 kernel gives, for every input, what the IR's float-evaluated table gives
# (tests/frontend/test_tflite.py checks all 256 inputs against tflite-micro over random parameters;
# TFLM fixes their output parameters: LOGISTIC 1/256 and -128, TANH 1/128 and 0).
FLOAT_TABLES = {"LOGISTIC": "sigmoid", "TANH": "tanh"}


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16: round(a * b / 2^15), ties up."""
    if a == b == -32768:
        return 32767
    ab = a * b
    total = ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))
    return int(total / (1 << 15))  # C division truncates toward zero


def _sdhm16(a: int, b: int) -> int:
    """TFLite's SaturatingDoublingHighMul on int16 (SQDMULH): a * b / 2^15 truncated toward zero."""
    return 32767 if a == b == -32768 else int(a * b / (1 << 15))


def _rdbpot(x: int, exponent: int) -> int:
    return int(arith.rounding_divide_by_pot(x, exponent))


def _saturating_left_shift16(x: int, amount: int) -> int:
    return max(-32768, min(32767, x * (1 << amount)))


def _int16_multiplier(real: np.float32) -> tuple[int, int]:
    """TFLite QuantizeMultiplier then DownScaleInt32ToInt16Multiplier: a Q15 multiplier, exponent."""
    fixed, exponent = arith.quantize_multiplier(float(real))
    if fixed >= 2**31 - 1 - (1 << 15):
        return 32767, exponent
    return (fixed + (1 << 15)) >> 16, exponent


def hard_swish_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """TFLM's int8 HARD_SWISH (reference_ops::HardSwish with HardSwishPrepare's parameters), entry by
    entry. The input is moved to a "hi-res" scale s_in / 128 (x * 2^7 fits int16 for |x| <= 255);
    the "relu-ish" factor min(max(x + 3, 0), 6) / 6 is an int16 fixed-point value in [0, 1] obtained
    by rescaling x to a scale where 3.0 is 32768 (saturating) and mapping [-1, 1] to [0, 1]; the
    product uses the truncating SQDMULH, as TFLM does to cancel the rounding bias of the steps
    before. The multipliers are computed from float32 scales, as in TFLM's Prepare."""
    hires = np.float32(1.0 / 128.0) * np.float32(in_scale)
    out_mult, out_exp = _int16_multiplier(hires / np.float32(out_scale))
    relu_mult, relu_exp = _int16_multiplier(hires / np.float32(3.0 / 32768.0))
    if out_exp > 0:
        raise Unsupported("HARD_SWISH with an output scale below 1/128 of the input scale (TFLM requires the "
                          "output multiplier's exponent <= 0)")
    table = []
    for q in range(-128, 128):
        hires_value = (q - in_zp) * (1 << 7)
        preshift_out = _srdhm16(hires_value, out_mult)
        reluish = hires_value
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, relu_exp - 1)
        reluish = _srdhm16(reluish, relu_mult)
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if relu_exp < 0:
            reluish = _rdbpot(reluish, -relu_exp)
        reluish = (reluish + (1 << 15)) >> 1
        value = _rdbpot(_sdhm16(reluish, preshift_out), -out_exp) + out_zp
        table.append(max(-128, min(127, value)))
    return table


@tflite_op("HARD_SWISH", constraints="int8, TFLM's fixed-point recipe as a 256-entry table")
def hard_swish(ctx: TfliteImport, op: TfliteOperator) -> None:
    q_in, q_out = _quant(_int8(ctx, op.inputs[0])), _quant(_int8(ctx, op.outputs[0], "output"))
    table = hard_swish_table(q_in.scale_value, q_in.zero_point_value, q_out.scale_value, q_out.zero_point_value)
    ctx.emit("lut", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], function="table",
             args={"table": table})


@tflite_op(*FLOAT_TABLES,
           constraints="int8 (output 1/256, -128 for LOGISTIC; 1/128, 0 for TANH) as a 256-entry table, equal to "
                       "TFLM's for every input")
def float_table(ctx: TfliteImport, op: TfliteOperator) -> None:
    _int8(ctx, op.inputs[0])
    _int8(ctx, op.outputs[0], "output")
    ctx.emit("lut", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], function=FLOAT_TABLES[op.op],
             args={})


@tflite_op("LEAKY_RELU", constraints="int8, TFLM's two requantizations as a 256-entry table")
def leaky_relu(ctx: TfliteImport, op: TfliteOperator) -> None:
    """TFLM's int8 LEAKY_RELU: q - zp_in requantized by s_in / s_out where it is >= 0, by
    s_in * alpha / s_out (multipliers from double) below; as the IR's 256-entry table."""
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    q_in, q_out = _quant(x), _quant(out)
    alpha = np.float32(op.options.Alpha())
    identity = arith.quantize_multiplier(np.float64(q_in.scale_value) / np.float64(q_out.scale_value))
    slope = arith.quantize_multiplier(np.float64(q_in.scale_value) * np.float64(alpha) / np.float64(q_out.scale_value))
    v = np.arange(-128, 128, dtype=np.int64) - q_in.zero_point_value
    table = np.where(v >= 0, arith.requantize(v, *identity, q_out.zero_point_value, -128, 127),
                     arith.requantize(v, *slope, q_out.zero_point_value, -128, 127))
    ctx.emit("lut", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], function="table",
             args={"table": [int(t) for t in table]})


REDUCERS = {"MEAN": "mean", "SUM": "sum", "REDUCE_MAX": "max", "REDUCE_MIN": "min"}


@tflite_op(*REDUCERS,
           constraints="int8, any constant axes of a rank <= 4 tensor, keep_dims either way: TFLM's integer MEAN "
                       "and SUM (one requantization of the sum), REDUCE_MAX / REDUCE_MIN with the input's "
                       "parameters; MEAN over H and W of an NHWC tensor is an average pool")
def reduce(ctx: TfliteImport, op: TfliteOperator) -> None:
    """TFLM's int8 reductions on the tensor as the file stores it (tinygen keeps TFLite's order, so the kept
    axes stay in order and keep_dims changes no byte). MEAN and SUM requantize sum(q - zp_in) once (TFLM's
    QuantizedMeanOrSumExtraArgs: MEAN folds 1 / count into the multiplier by truncation, the reduce op's
    tflm_mean); MEAN over exactly H and W is the average pool in its "mean" arithmetic, the same numbers, on
    the pooling kernels (section "Average pool arithmetic" of docs/DESIGN.md)."""
    x = _int8(ctx, op.inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    axes = _constant_ints(ctx, op.inputs[1], "axes")
    rank, kind = len(x.shape), REDUCERS[op.op]
    if not axes or not all(-rank <= a < rank for a in axes):
        raise Unsupported(f"{op.op} over axes {axes} of a rank-{rank} tensor {list(x.shape)}")
    reduced = sorted({a % rank for a in axes})
    if kind == "mean" and rank == 4 and reduced == [1, 2]:
        height, width = x.shape[1], x.shape[2]
        ctx.emit("avg_pool", [ctx.runtime(op.inputs[0])], [ctx.output(op.outputs[0])], kernel=[height, width],
                 stride=[1, 1], dilation=[1, 1], pads=[0, 0, 0, 0], ceil_mode=False, count_include_pad=False,
                 mean=True)
        return
    if rank > 4:
        raise Unsupported(f"{op.op} of a rank-{rank} tensor {list(x.shape)}; tinygen reduces tensors of rank <= 4")
    if kind in ("max", "min"):
        _same_quant(op, x, out)  # TFLM compares and copies raw values
    view = [1] * (4 - rank) + list(x.shape)
    flags = [False] * (4 - rank) + [axis in reduced for axis in range(rank)]
    ctx.emit("reduce_minmax" if kind in ("max", "min") else "reduce", [ctx.runtime(op.inputs[0])],
             [ctx.output(op.outputs[0])], kind=kind, view=view, reduce=flags, tflm_mean=kind == "mean")


# UNIDIRECTIONAL_SEQUENCE_LSTM's inputs (TFLite's lstm_shared.h): the input, per gate (input, forget, cell,
# output) its input and recurrent weights, peepholes, biases, the projection, the two state variables and the
# layer-norm coefficients.
LSTM_INPUT_WEIGHTS = {"i": 1, "f": 2, "c": 3, "o": 4}
LSTM_RECURRENT_WEIGHTS = {"i": 5, "f": 6, "c": 7, "o": 8}
LSTM_BIASES = {"i": 12, "f": 13, "c": 14, "o": 15}
LSTM_PEEPHOLES, LSTM_PROJECTION, LSTM_LAYER_NORM = (9, 10, 11), (16, 17), (20, 21, 22, 23)
LSTM_HIDDEN_STATE, LSTM_CELL_STATE = 18, 19
ONNX_GATE_ORDER = "iofc"  # the IR lstm op's (ONNX's) order of the gate rows
TANH = 4


def _lstm_matrix(ctx: TfliteImport, op: TfliteOperator, indices: dict[str, int], rows: int,
                 depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The four gates' int8 weights stacked in ONNX's gate order [1, 4H, depth], and a scale per row."""
    blocks, scales = [], []
    for gate in ONNX_GATE_ORDER:
        t = ctx.tensor(op.inputs[indices[gate]])
        if t.data is None or t.type_name != "int8" or t.quant is None:
            what = t.type_name if t.data is not None else "computed at run time"
            raise Unsupported(f"the LSTM weights '{t.name}' are {what}; tinygen takes constant int8 weights",
                              hint="convert with full-integer int8 quantization")
        if t.shape != (rows, depth):
            raise Unsupported(f"the LSTM weights '{t.name}' have shape {list(t.shape)}, expected {[rows, depth]}")
        if t.quant.scale.size != 1 or np.any(t.quant.zero_point != 0):
            raise Unsupported(f"the LSTM weights '{t.name}' are quantized per channel or asymmetrically; TFLite's "
                              "integer LSTM takes one symmetric scale per gate matrix")
        blocks.append(t.data)
        scales.append(np.full(rows, t.quant.scale[0], np.float32))
    return np.concatenate(blocks)[None], np.concatenate(scales)


@tflite_op("UNIDIRECTIONAL_SEQUENCE_LSTM",
           constraints="int8 input and output, int8 weights (one scale per gate matrix), int32 biases, int16 cell "
                       "state (TFLite's integer LSTM, bit-exact with TFLM); batch 1, time-major or not; tanh; "
                       "cell clip; no peepholes, CIFG, projection or layer norm")
def unidirectional_sequence_lstm(ctx: TfliteImport, op: TfliteOperator) -> None:
    """TFLM's integer LSTM (its lstm_eval for int8 activations and an int16 cell) as the IR lstm op, whose
    arithmetic is TFLM's (ops/lstm.py): the gate matrices in ONNX's order, no recurrent bias, the state
    variables' initial values (zeros, as TFLM's reset leaves them), the cell scale and clip as attributes."""
    inputs = list(op.inputs) + [-1] * (24 - len(op.inputs))
    if len(op.inputs) != 24:
        raise Unsupported(f"{len(op.inputs)} inputs; TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM has 24")
    for indices, what in [(LSTM_PEEPHOLES, "peephole connections"), (LSTM_PROJECTION, "a projection layer"),
                          (LSTM_LAYER_NORM, "layer normalization")]:
        if any(inputs[i] >= 0 for i in indices):
            raise Unsupported(f"an LSTM with {what} is not supported (TFLM's integer LSTM has none)")
    if inputs[LSTM_INPUT_WEIGHTS["i"]] < 0 or inputs[LSTM_RECURRENT_WEIGHTS["i"]] < 0:
        raise Unsupported("a coupled input-forget gate (CIFG LSTM) is not supported")
    required = [0, *LSTM_INPUT_WEIGHTS.values(), *LSTM_RECURRENT_WEIGHTS.values(), *LSTM_BIASES.values(),
                LSTM_HIDDEN_STATE, LSTM_CELL_STATE]
    missing = [i for i in required if inputs[i] < 0]
    if missing or op.options is None:
        raise Unsupported(f"the LSTM lacks its inputs {missing} or its options; the file is not a converter's "
                          "UNIDIRECTIONAL_SEQUENCE_LSTM")
    x = _int8(ctx, inputs[0])
    out = _int8(ctx, op.outputs[0], "output")
    o = op.options
    if int(o.FusedActivationFunction()) != TANH:
        code = int(o.FusedActivationFunction())
        raise Unsupported(f"cell activation {ACTIVATION_NAMES.get(code, code)}; TFLM's integer LSTM computes tanh")
    if len(x.shape) != 3:
        raise Unsupported(f"input of shape {list(x.shape)}; an LSTM takes [batch, steps, features]")
    time_major = bool(o.TimeMajor())
    steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    if batch != 1:
        raise Unsupported(f"batch {batch}; tinygen runs batch 1")
    size = x.shape[2]
    hidden_state, cell_state = ctx.tensor(inputs[LSTM_HIDDEN_STATE]), ctx.tensor(inputs[LSTM_CELL_STATE])
    if hidden_state.type_name != "int8" or hidden_state.quant is None:
        raise Unsupported(f"the hidden state '{hidden_state.name}' is {hidden_state.type_name}; the integer LSTM "
                          "keeps it int8")
    if cell_state.type_name != "int16" or cell_state.quant is None or cell_state.quant.scale.size != 1:
        raise Unsupported(f"the cell state '{cell_state.name}' is {cell_state.type_name}; TFLite's integer LSTM "
                          "keeps it int16 with one scale", hint="convert with full-integer int8 quantization")
    power = cell_scale_power(float(cell_state.quant.scale[0]))
    if not -30 <= power <= 0:
        raise Unsupported(f"the cell state '{cell_state.name}' has scale {float(cell_state.quant.scale[0]):g} "
                          f"(2^{power}); tinygen takes the int16 cell scales 2^-30 .. 1 of TFLite's integer LSTM")
    hidden = int(np.prod(hidden_state.shape))
    if out.shape != ((steps, 1, hidden) if time_major else (1, steps, hidden)):
        raise Unsupported(f"output of shape {list(out.shape)} for {steps} steps of {hidden} units")
    if not _quant(hidden_state).same_as(_quant(out)):
        raise Unsupported(f"the output '{out.name}' is quantized unlike the hidden state '{hidden_state.name}'; "
                          "TFLM copies the hidden state to the output as it is")
    weights_x, scales_x = _lstm_matrix(ctx, op, LSTM_INPUT_WEIGHTS, hidden, size)
    weights_h, scales_h = _lstm_matrix(ctx, op, LSTM_RECURRENT_WEIGHTS, hidden, hidden)
    biases = []
    for gate in ONNX_GATE_ORDER:
        b = ctx.tensor(inputs[LSTM_BIASES[gate]])
        if b.data is None or b.type_name != "int32" or b.data.size != hidden:
            raise Unsupported(f"the LSTM bias '{b.name}' is not a constant int32 vector of {hidden} values")
        biases.append(b.data.reshape(hidden).astype(np.int64))
    bias = np.concatenate(biases)
    # The int32 accumulators bias + sum w * (q - zp) of TFLM's fully connected layers must not overflow
    # (the C kernel sums in int32): |q - zp| <= 255 and |w| <= 128.
    for matrix, offset_bias, what in [(weights_x, bias, "input"), (weights_h, np.zeros_like(bias), "recurrent")]:
        bound = np.abs(offset_bias) + 128 * 255 * matrix.shape[2]
        if np.max(bound) >= 2**31:
            raise Unsupported(f"the {what} gate accumulators could overflow int32 (bound {int(np.max(bound))})")
    h_quant = _quant(hidden_state)
    initial_h = (hidden_state.data.reshape(1, hidden).astype(np.int8) if hidden_state.data is not None
                 else np.full((1, hidden), h_quant.zero_point_value, np.int8))
    initial_c = (cell_state.data.reshape(1, hidden).astype(np.int16) if cell_state.data is not None
                 else np.zeros((1, hidden), np.int16))
    rows = 4 * hidden
    constants = [
        ctx.constant("weights_x", weights_x, QuantParams(scales_x, np.zeros(rows, np.int32), 1)),
        ctx.constant("weights_h", weights_h, QuantParams(scales_h, np.zeros(rows, np.int32), 1)),
        ctx.constant("bias_x", bias.astype(np.int32)[None]),
        ctx.constant("bias_h", np.zeros((1, rows), np.int32)),
        ctx.constant("initial_h", initial_h),
        ctx.constant("initial_c", initial_c),
    ]
    ctx.emit("lstm", [ctx.runtime(inputs[0]), *constants], [ctx.output(op.outputs[0])], steps=steps,
             input_size=size, hidden=hidden, directions=1, reverse=False, clip=None, roles=["y"],
             cell_scale=float(cell_state.quant.scale[0]), cell_clip=float(o.CellClip()), recurrent_bias=False)
