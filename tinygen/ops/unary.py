"""Elementwise functions of one int8 input (Relu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish,
LeakyRelu, Elu, Gelu, Softplus, Neg, Abs) as a 256-entry lookup table.

With int8 input and output, any such function is exactly a table: entry q holds
quantize_out(f(dequantize_in(q))), evaluated in float64 at compile time. The C kernel and the
golden kernel both index it, so they agree by construction, and one kernel (tg_lut_s8) serves
every function. Relu and Clip after a conv / FC / add are fused into that op's clamp by
passes/fuse_activation.py; the table is for the ones left standing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import arith
from ..ir import Graph, Node
from . import sigmoid_s16
from .base import Kernel, Op, Unsupported, onnx_op, register, replaces_input
from .common import input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value


def _clip(x: np.ndarray, min: float | None = None, max: float | None = None) -> np.ndarray:
    low = -np.inf if min is None else min
    high = np.inf if max is None else max
    return np.clip(x, low, high)


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def _composite(x: np.ndarray, steps: list[dict[str, Any]]) -> np.ndarray:
    """Evaluate a fused elementwise region (passes/fuse_elementwise.py): value 0 is x, step k
    computes value k from earlier values and scalar constants."""
    values = [x]

    def operand(spec: dict[str, Any]) -> np.ndarray | float:
        return spec["const"] if "const" in spec else values[spec["value"]]

    for step in steps:
        operands = [operand(spec) for spec in step["operands"]]
        result: np.ndarray | float
        if step["op"] == "lut":
            result = FUNCTIONS[step["function"]](operands[0], **step["args"])
        elif step["op"] == "add":
            result = operands[0] - operands[1] if step["subtract"] else operands[0] + operands[1]
        else:
            result = operands[0] * operands[1]
        activation = step.get("activation")
        if activation:
            result = _clip(np.asarray(result), activation.get("min"), activation.get("max"))
        values.append(np.asarray(result, dtype=np.float64))
    return values[-1]


FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "composite": _composite,
    "clip": _clip,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
    "hardsigmoid": lambda x, alpha, beta: np.clip(alpha * x + beta, 0.0, 1.0),
    "hardswish": lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "leakyrelu": lambda x, alpha: np.where(x >= 0, x, alpha * x),
    "elu": lambda x, alpha: np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1.0)),
    "gelu": _gelu,
    "softplus": lambda x: np.logaddexp(0.0, x),
    "neg": np.negative,
    "abs": np.abs,
    "erf": np.vectorize(math.erf),
}


def _emit(ctx: ImportContext, X: Value, function: str, **args: Any) -> None:
    if X.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    out = ctx.output_value(ctx.output_name)
    ctx.emit("lut", [X.runtime], [out.runtime], function=function, args=args)


@onnx_op("Relu", layout="transparent", constraints="")
def Relu(ctx: ImportContext, X: Value) -> None:
    _emit(ctx, X, "clip", min=0.0, max=None)


def _scalar(value: Value | None, what: str) -> float | None:
    if value is None:
        return None
    if value.const is None:
        raise Unsupported(f"the {what} bound is computed at run time; it must be a constant")
    return float(np.asarray(value.const).reshape(-1)[0])


@onnx_op("Clip", layout="transparent", constraints="constant min/max (Relu6 is Clip(0, 6))")
def Clip(ctx: ImportContext, input: Value, min: Value | None = None, max: Value | None = None) -> None:
    _emit(ctx, input, "clip", min=_scalar(min, "min"), max=_scalar(max, "max"))


@onnx_op("Sigmoid", layout="transparent", constraints="")
def Sigmoid(ctx: ImportContext, X: Value) -> None:
    _emit(ctx, X, "sigmoid")


@onnx_op("Tanh", layout="transparent", constraints="")
def Tanh(ctx: ImportContext, input: Value) -> None:
    _emit(ctx, input, "tanh")


@onnx_op("HardSigmoid", layout="transparent", constraints="")
def HardSigmoid(ctx: ImportContext, X: Value, *, alpha: float = 0.2, beta: float = 0.5) -> None:
    _emit(ctx, X, "hardsigmoid", alpha=alpha, beta=beta)


@onnx_op("HardSwish", layout="transparent", constraints="")
def HardSwish(ctx: ImportContext, X: Value) -> None:
    _emit(ctx, X, "hardswish")


@onnx_op("LeakyRelu", layout="transparent", constraints="")
def LeakyRelu(ctx: ImportContext, X: Value, *, alpha: float = 0.01) -> None:
    _emit(ctx, X, "leakyrelu", alpha=alpha)


@onnx_op("Elu", layout="transparent", constraints="")
def Elu(ctx: ImportContext, X: Value, *, alpha: float = 1.0) -> None:
    _emit(ctx, X, "elu", alpha=alpha)


@onnx_op("Gelu", constraints="approximate 'none' or 'tanh'")
def Gelu(ctx: ImportContext, X: Value, *, approximate: str = "none") -> None:
    if approximate not in ("none", "tanh"):
        raise Unsupported(f"approximate='{approximate}' is not supported")
    _emit(ctx, X, "gelu", approximate=approximate)


@onnx_op("Softplus", constraints="")
def Softplus(ctx: ImportContext, X: Value) -> None:
    _emit(ctx, X, "softplus")


@onnx_op("Neg", constraints="")
def Neg(ctx: ImportContext, X: Value) -> None:
    _emit(ctx, X, "neg")


@onnx_op("Abs", layout="transparent", constraints="")
def Abs(ctx: ImportContext, X: Value) -> None:
    _emit(ctx, X, "abs")


@onnx_op("Erf", constraints="")
def Erf(ctx: ImportContext, input: Value) -> None:
    # PyTorch's exporters write nn.GELU() as x * 0.5 * (1 + Erf(x / sqrt(2))).
    _emit(ctx, input, "erf")


def lookup_table(function: str, args: dict[str, Any], input_scale: float, input_zero_point: int,
                 output_scale: float, output_zero_point: int) -> np.ndarray:
    """int8[256]: entry i is the output for input q = i - 128."""
    q = np.arange(-128, 128, dtype=np.float64)
    x = (q - input_zero_point) * np.float64(input_scale)
    y = np.asarray(FUNCTIONS[function](x, **args), dtype=np.float64)
    out = arith.round_half_away_array(y / np.float64(output_scale)) + output_zero_point
    return np.clip(out, -128, 127).astype(np.int8)


def requantize_table(input_scale: float, input_zero_point: int, output_scale: float,
                     output_zero_point: int) -> np.ndarray:
    """int8[256] of TFLite's int8 -> int8 QUANTIZE: zp_out + MBQM(q - zp_in, s_in / s_out)."""
    multiplier, shift = arith.quantize_multiplier(np.float64(input_scale) / np.float64(output_scale))
    q = np.arange(-128, 128, dtype=np.int64)
    return arith.requantize(q - input_zero_point, multiplier, shift, output_zero_point, -128, 127)


@register
class LookupTable(Op):
    name = "lut"
    summary = "elementwise function of one int8 input, as a 256-entry table"
    kernels = (Kernel("tg_lut_s8", "tg_lut_params", in_place=replaces_input),
               # 16x8: TFLite's int16 LOGISTIC / TANH (ops/sigmoid_s16.py)
               Kernel("tg_logistic_s16", "tg_sigmoid_s16_params", in_place=replaces_input, activations="int16",
                      applies=lambda node, graph: node.attrs["function"] == "sigmoid"),
               Kernel("tg_tanh_s16", "tg_sigmoid_s16_params", in_place=replaces_input, activations="int16",
                      applies=lambda node, graph: node.attrs["function"] == "tanh"))
    patchable = True  # elementwise: a band of rows in, the same band out
    activation_precisions = ("int8", "int16")

    def runs_int16(self, node: Node) -> bool:
        return node.attrs.get("function") in sigmoid_s16.FUNCTIONS  # TFLite's 16x8 LOGISTIC and TANH only

    def int16_output_quant(self, node: Node, graph: Graph) -> tuple[float, int] | None:
        return sigmoid_s16.OUTPUT_SCALE, 0

    def quantize(self, node: Node, graph: Graph) -> None:
        if graph.tensors[node.outputs[0]].dtype == "int16":
            node.params = sigmoid_s16.quantize(node, graph)
            return
        if node.attrs["function"] == "requantize":
            table = requantize_table(*input_quant(graph, node), *output_quant(graph, node))
        elif node.attrs["function"] == "table":  # given by a frontend: a TFLite op's own integer arithmetic
            table = np.asarray(node.attrs["args"]["table"], np.int8)
        else:
            table = lookup_table(node.attrs["function"], node.attrs.get("args", {}),
                                 *input_quant(graph, node), *output_quant(graph, node))
        node.params = {"table": table}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if node.params.get("s16"):
            return [sigmoid_s16.reference(node.attrs["function"], node.params, inputs[0])]
        table = node.params["table"]
        return [table[inputs[0].astype(np.int32) + 128]]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        if node.params.get("s16"):
            return sigmoid_s16.emit(node, graph, ctx)
        fields = [("size", str(graph.tensors[node.inputs[0]].size)),
                  ("table", ctx.array("table", node.params["table"],
                                          f"{node.attrs['function']}: output for input q at [q + 128]"))]
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
