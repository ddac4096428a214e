"""Layer normalization over the last axis in integers: ONNX LayerNormalization (opset 17), and its
decomposed form as PyTorch's legacy exporter and older opsets write it (ReduceMean, Sub, Pow 2 or Mul,
ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta), recognized as one layer before import
(`fuse_decomposed`, run by the importer through ONNX_REWRITES).

Arithmetic, per row of D int8 values q (tg_layer_norm_s8.c does the same in C):
  sum  = sum_k q_k                                  int32, |sum| <= 128 D
  d_k  = D q_k - sum                                int32, = D (q_k - mean) exactly, |d_k| <= 255 D
  V    = sum_k d_k^2 + eps_term                     int64, = D^3 (var_q + eps / s_in^2)
         (eps_term = round(eps D^3 / s_in^2) at compile time, at most 2^58; var_q is the population
         variance in input steps, so the input zero point cancels)
  1/sqrt(V): V = W 4^j with W in [1, 4); Wq = W in Q30 (a shift of V, truncating); s = isqrt(Wq 2^30)
         = sqrt(W) in Q30, exact floor; R = min(floor(2^61 / s), 2^31 - 1) = 1/sqrt(W) in Q31
  U_k  = round(d_k R / 2^j)                         = (q_k - mean) / (sqrt(D) std) in Q31; |U_k| < 2^31
         since a zero-mean row has d_k^2 <= (D - 1)/D sum d^2 (clamped to +-(2^31 - 1) all the same)
  y_k  = clamp(zp_out + round((MBQM(+-U_k, M_k, shift_k) + B_k) / 2^8))
gamma and beta fold into a per-channel affine: (M_k, shift_k) is |gamma_k| sqrt(D) 2^8 / (s_out 2^31)
as a TFLite multiplier (the sign of gamma_k is the sign of M_k, applied to U_k), B_k = round(beta_k 2^8
/ s_out); both in output steps with 8 fraction bits, so the output is rounded once more only at the end.
Bounds: |d_k R| < 2^22 2^31 = 2^53 for D <= 2^14; sum d^2 <= D (255 D)^2 < 2^58; the compiler requires
|gamma_k| sqrt(D) / s_out < 2^21, so |MBQM| < 2^29, and clamps |B_k| to 2^29: the sum stays in int32.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import helper

from .. import arith
from ..errors import TinygenError
from ..ir import Graph, Node
from .base import Kernel, Op, Unsupported, onnx_op, register, replaces_input
from .batch_matmul import emit_in_onnx_order, in_onnx_order
from .common import input_quant, int8_shifts, output_quant
from .onnx_import import onnx_rewrite

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

MAX_DEPTH = 1 << 14  # keeps sum d^2 below 2^58 and d R below 2^53 (module docstring)
EPS_TERM_MAX = 1 << 58
FRACTION_BITS = 8  # fraction bits of the per-channel affine's result, before the final rounding
MAX_CHANNEL_GAIN = 1 << 21  # |gamma| sqrt(D) / s_out: output steps per unit of U's real value


@onnx_op("LayerNormalization", layout="sequence",
         constraints="over the last axis (axis = -1); constant scale and bias; the decomposed form "
                     "(ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) is recognized as one")
def LayerNormalization(ctx: ImportContext, X: Value, Scale: Value, B: Value | None = None, *, axis: int = -1,
                       epsilon: float = 1e-5, stash_type: int = 1) -> None:
    node = ctx.node
    assert node is not None
    if len([out for out in node.output if out]) > 1:
        raise Unsupported("the Mean / InvStdDev outputs (training) are used")
    if X.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    if axis % X.rank != X.rank - 1:
        raise Unsupported(f"normalization over axes {list(range(axis % X.rank, X.rank))} of {list(X.shape)}; "
                          "tinygen normalizes over the last axis only")
    depth = X.shape[-1]
    if depth > MAX_DEPTH:
        raise Unsupported(f"normalization over {depth} values; the integer statistics handle up to {MAX_DEPTH}")
    gamma = _per_channel(Scale, depth, "scale")
    beta = _per_channel(B, depth, "bias") if B is not None else np.zeros(depth)
    emit_in_onnx_order(ctx, "layer_norm", [in_onnx_order(ctx, X)], epsilon=float(epsilon),
                       gamma=gamma.tolist(), beta=beta.tolist())


def _per_channel(value: Value, depth: int, what: str) -> np.ndarray:
    if value.const is None:
        raise Unsupported(f"the {what} is computed at run time; tinygen needs a constant")
    array = np.asarray(value.const, np.float64)
    if array.size == 1:
        return np.full(depth, float(array.reshape(-1)[0]))
    if array.size != depth or array.shape[-1] != depth:
        raise Unsupported(f"the {what} of shape {list(array.shape)} is not one value per feature ({depth})")
    return array.reshape(depth)


# --- the decomposed form -------------------------------------------------------------------------------

@onnx_rewrite
def fuse_decomposed(nodes: list[onnx.NodeProto], constants: dict[str, np.ndarray],
                    keep: set[str]) -> list[onnx.NodeProto]:
    """Replace each decomposed layer norm over the last axis by one LayerNormalization node (named after
    its Div). `keep`: values that must stay visible (graph outputs); an intermediate that is kept, or
    read outside the pattern, leaves the pattern alone."""
    graph = _Pattern(nodes, constants)
    replaced: dict[int, onnx.NodeProto | None] = {}
    for div in nodes:
        match = _match(div, graph, keep) if div.op_type == "Div" else None
        if match is None or any(id(n) in replaced for n in match["nodes"]):
            continue
        inputs = [match["x"], match["gamma"]] + ([match["beta"]] if match["beta"] else [])
        fused = helper.make_node("LayerNormalization", inputs, [match["output"]],
                                 name=div.name or f"layernorm_{match['output']}", axis=-1, epsilon=match["epsilon"])
        for n in match["nodes"]:
            replaced[id(n)] = None
        replaced[id(match["nodes"][-1])] = fused
    if not replaced:
        return nodes
    result = []
    for node in nodes:
        new = replaced.get(id(node), node)  # the fused node sits at the position of the pattern's last node
        if new is not None:
            result.append(new)
    return result


class _Pattern:
    """The node list as the matcher reads it, seeing through quantization: in a QDQ model (onnxruntime's
    quantize_static) every intermediate of the decomposed form passes QuantizeLinear -> DequantizeLinear,
    and its constants (epsilon, the exponent 2, gamma, beta) are DequantizeLinear outputs. The fused layer
    computes its statistics in integers of its own, so the interior Q/DQ pairs go with the pattern; the
    pairs on its input and output stay and give the layer its parameters."""

    def __init__(self, nodes: list[onnx.NodeProto], constants: dict[str, np.ndarray]) -> None:
        self.constants = constants
        self.readers: dict[str, list[onnx.NodeProto]] = {}
        self.producer: dict[str, onnx.NodeProto] = {}
        for node in nodes:
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
            for name in node.output:
                self.producer[name] = node

    def _pair(self, name: str) -> tuple[str, list[onnx.NodeProto]] | None:
        """(v, [Q, DQ]) when `name` is DequantizeLinear(QuantizeLinear(v)) of a run-time v."""
        dq = self.producer.get(name)
        q = self.producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
        if dq is None or q is None or q.op_type != "QuantizeLinear" or q.input[0] in self.constants:
            return None
        return q.input[0], [q, dq]

    def source(self, name: str, via: list[onnx.NodeProto]) -> onnx.NodeProto | None:
        """The node computing `name`, past a Q/DQ pair (added to `via`)."""
        pair = self._pair(name)
        if pair is not None:
            name = pair[0]
            via += pair[1]
        return self.producer.get(name)

    def same(self, a: str, b: str) -> bool:
        """Whether two inputs hold one value (directly or one through a Q/DQ pair)."""
        return a == b or any(p is not None and p[0] == other for p, other in ((self._pair(a), b), (self._pair(b), a)))

    def value(self, name: str) -> np.ndarray | None:
        """A constant, also through DequantizeLinear (of a constant, or of QuantizeLinear of one) as
        onnxruntime computes it."""
        if name in self.constants:
            return np.asarray(self.constants[name])
        node = self.producer.get(name)
        if node is None or node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.input) < 2:
            return None
        x, scale = self.value(node.input[0]), self.constants.get(node.input[1])
        zero = self.constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if x is None or scale is None or np.asarray(scale).size != 1:
            return None
        s = np.float32(np.asarray(scale).reshape(-1)[0])
        zp = 0 if zero is None else int(np.asarray(zero).reshape(-1)[0])
        if node.op_type == "QuantizeLinear":
            dtype = np.asarray(zero).dtype if zero is not None else np.dtype(np.uint8)
            info = np.iinfo(dtype)
            return np.clip(np.rint(np.asarray(x, np.float32) / s) + zp, info.min, info.max)
        return ((np.asarray(x, np.float64) - zp) * s).astype(np.float32)

    def scalar(self, name: str) -> float | None:
        value = self.value(name)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None

    def consumers(self, name: str, via: list[onnx.NodeProto]) -> tuple[str, list[onnx.NodeProto]]:
        """(the name the next node reads, its readers): past a Q/DQ pair that is the only reader."""
        readers = self.readers.get(name, [])
        if len(readers) == 1 and readers[0].op_type == "QuantizeLinear":
            dq = self.readers.get(readers[0].output[0], [])
            if len(dq) == 1 and dq[0].op_type == "DequantizeLinear":
                via += [readers[0], dq[0]]
                return dq[0].output[0], self.readers.get(dq[0].output[0], [])
        return name, readers


def _last_axis_mean(node: onnx.NodeProto | None, graph: _Pattern) -> str | None:
    """The input of a ReduceMean over the last axis only, keeping dims; else None."""
    if node is None or node.op_type != "ReduceMean":
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("keepdims", 1) != 1:
        return None
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1] in graph.constants:
        axes = np.asarray(graph.constants[node.input[1]]).reshape(-1).tolist()
    return node.input[0] if axes is not None and [int(a) for a in axes] == [-1] else None


def _other(node: onnx.NodeProto, name: str) -> str:
    return node.input[1] if node.input[0] == name else node.input[0]


def _match(div: onnx.NodeProto, graph: _Pattern, keep: set[str]) -> dict[str, Any] | None:
    """Div(d, Sqrt(Add(ReduceMean(d * d), eps))) with d = Sub(x, ReduceMean(x)), then optional Mul gamma
    and Add beta (constants); any edge may pass a Q/DQ pair (_Pattern)."""
    centered, root = div.input
    via: list[onnx.NodeProto] = []
    sqrt = graph.source(root, via)
    sub = graph.source(centered, via)
    if sqrt is None or sqrt.op_type != "Sqrt" or sub is None or sub.op_type != "Sub":
        return None
    x = sub.input[0]
    mean = graph.source(sub.input[1], via)
    mean_of = _last_axis_mean(mean, graph)
    if mean_of is None or not graph.same(mean_of, x):
        return None
    add_eps = graph.source(sqrt.input[0], via)
    if add_eps is None or add_eps.op_type != "Add":
        return None
    eps_name = next((i for i in add_eps.input if graph.value(i) is not None), None)
    epsilon = graph.scalar(eps_name) if eps_name else None
    if epsilon is None or epsilon < 0:
        return None
    variance = graph.source(_other(add_eps, eps_name), via)  # type: ignore[arg-type]
    squared = _last_axis_mean(variance, graph)
    square = graph.source(squared, via) if squared is not None else None
    if square is None or not (
            (square.op_type == "Pow" and graph.same(square.input[0], centered) and graph.scalar(square.input[1]) == 2.0)
            or (square.op_type == "Mul" and all(graph.same(i, centered) for i in square.input))):
        return None
    assert mean is not None and variance is not None
    pattern = [mean, sub, square, variance, add_eps, sqrt, div]
    output, gamma, beta = div.output[0], None, None
    for op_type in ("Mul", "Add"):  # gamma, then beta (only after gamma)
        step: list[onnx.NodeProto] = []
        read_as, tail = graph.consumers(output, step)
        if output in keep or read_as in keep:
            break
        if len(tail) != 1 or tail[0].op_type != op_type or graph.value(_other(tail[0], read_as)) is None:
            break
        if op_type == "Mul":
            gamma = _other(tail[0], read_as)
        else:
            beta = _other(tail[0], read_as)
        output = tail[0].output[0]
        via += step
        pattern.append(tail[0])
    # the interior Q/DQ pairs go with the pattern; the fused node takes the place of its last node
    pattern = pattern[:-1] + via + pattern[-1:]
    if gamma is None:
        gamma = f"{div.name or output}_unit_scale"
        graph.constants[gamma] = np.ones(1, np.float32)
    # Every intermediate is read only inside the pattern (centered by the square and the division).
    inside = {id(n) for n in pattern}
    for n in pattern[:-1]:
        for name in n.output:
            if name in keep or any(id(r) not in inside for r in graph.readers.get(name, [])):
                return None
    return {"x": x, "gamma": gamma, "beta": beta, "output": output, "epsilon": epsilon, "nodes": pattern}


# --- the integer kernel ------------------------------------------------------------------------------

def inverse_sqrt_q31(V: int) -> tuple[int, int]:
    """(R, j) with 1/sqrt(V) ~= R 2^-(31 + j): R = 1/sqrt(W) in Q31 for V = W 4^j, W in [1, 4)."""
    V = max(int(V), 1)
    j = (V.bit_length() - 1) // 2
    wq = V >> (2 * j - 30) if 2 * j >= 30 else V << (30 - 2 * j)
    s = math.isqrt(wq << 30)
    return min((1 << 61) // s, arith.INT32_MAX), j


def normalized_q31(rows: np.ndarray, eps_term: int) -> np.ndarray:
    """U = (q - mean) / (sqrt(D) std) in Q31 for each row of int8 values [rows, D] (module docstring)."""
    q = rows.astype(np.int64)
    depth = q.shape[1]
    d = depth * q - q.sum(axis=1, keepdims=True)
    out = np.empty_like(d)
    for r in range(len(d)):
        R, j = inverse_sqrt_q31(int(np.dot(d[r], d[r])) + eps_term)
        out[r] = arith.rounding_divide_by_pot(d[r] * R, j)
    return np.clip(out, -arith.INT32_MAX, arith.INT32_MAX)


def layer_norm_rows(rows: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    u = normalized_q31(rows, p["eps_term"])
    multiplier = np.asarray(p["multiplier"], np.int64)
    signed = np.where(multiplier < 0, -u, u)
    t = arith.multiply_by_quantized_multiplier(signed, np.abs(multiplier), p["shift"])
    y = arith.rounding_divide_by_pot(t + np.asarray(p["bias"], np.int64), FRACTION_BITS) + p["output_offset"]
    return np.clip(y, -128, 127).astype(np.int8)


@register
class LayerNorm(Op):
    name = "layer_norm"
    summary = "layer normalization over the last axis: integer mean and variance, fixed-point 1/sqrt, " \
              "per-channel affine"
    # Row by row: the statistics read the whole row before any output of it is written, then each output
    # replaces the input it is computed from (tg_layer_norm.h).
    kernels = (Kernel("tg_layer_norm_s8", "tg_layer_norm_params", in_place=replaces_input),)

    def quantize(self, node: Node, graph: Graph) -> None:
        in_scale, _ = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        depth = graph.tensors[node.inputs[0]].shape[-1]
        eps_term = min(arith.round_half_away(node.attrs["epsilon"] * depth**3 / np.float64(in_scale) ** 2),
                       EPS_TERM_MAX)
        gamma = np.asarray(node.attrs["gamma"], np.float64)
        beta = np.asarray(node.attrs["beta"], np.float64)
        gain = np.abs(gamma) * math.sqrt(depth) / np.float64(out_scale)  # output steps per unit of U
        if np.max(gain) >= MAX_CHANNEL_GAIN:
            raise TinygenError(f"node '{node.name}': a layer-norm scale of {float(np.max(np.abs(gamma))):g} "
                               f"against an output step of {out_scale:g} is beyond the integer kernel's range")
        multiplier, shift = arith.quantize_multipliers(gain * 2.0**FRACTION_BITS / 2.0**31)
        multiplier = np.where(gamma < 0, -multiplier.astype(np.int64), multiplier).astype(np.int32)
        bias = np.clip(arith.round_half_away_array(beta * 2.0**FRACTION_BITS / np.float64(out_scale)),
                       -(1 << 29), 1 << 29).astype(np.int32)
        node.params = {"eps_term": int(eps_term), "multiplier": multiplier, "shift": shift, "bias": bias,
                       "output_offset": out_zp}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        shape = graph.tensors[node.outputs[0]].shape
        rows = inputs[0].reshape(-1, shape[-1])
        return [layer_norm_rows(rows, node.params).reshape(shape)]

    def macs(self, node: Node, graph: Graph) -> int:
        return 2 * graph.tensors[node.inputs[0]].size  # the squares and the affine

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        shape = graph.tensors[node.outputs[0]].shape
        depth = shape[-1]
        fields = [("rows", str(int(np.prod(shape)) // depth)), ("depth", str(depth)),
                  ("eps_term", f"{p['eps_term']}LL"), ("output_offset", str(p["output_offset"])),
                  ("multiplier", ctx.array("multiplier", p["multiplier"],
                                           "per channel: +-|gamma| sqrt(D) 2^8 / s_out as Q31 (sign of gamma)")),
                  ("shift", ctx.array("shift", int8_shifts(p["shift"]), "per channel requantization shifts")),
                  ("bias", ctx.array("bias", p["bias"], "per channel: beta / s_out with 8 fraction bits"))]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
