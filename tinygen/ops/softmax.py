"""Softmax over any axis, with TFLite's int8 fixed-point algorithm (gemmlowp).

A softmax over stored axis a of a tensor is one over rows of `depth` values `inner` elements apart
(outer x inner rows: the axes before and after a), so a feature map's channel axis (innermost in
storage) and its H or W axis run the same kernel. For each row: the difference of every input to the
row maximum is scaled by beta * s_in into Q5.26 (input_multiplier, input_left_shift); exp() of those
non-positive values is evaluated in fixed point (exp_on_negative_values: a Taylor polynomial around -1/8 on
[-1/4, 0) times a barrel of exp(-2^k) constants), summed in Q12.19, inverted with Newton-Raphson
(one_over_one_plus_x_for_x_in_0_1) and each output is exp * (1 / sum) rounded to 1/256 steps.
Differences below diff_min give exp = 0. The output is always scale 1/256, zero point -128
(TFLite's rule); a quantized model that asks for other parameters gets a requantization after.

Each function below mirrors one of gemmlowp's / TFLite's, and tg_softmax_s8.c mirrors them in
C; all arithmetic here is on int64 numpy arrays holding int32 values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..errors import TinygenError
from ..ir import Graph, Layout, Node
from .base import Kernel, Op, Unsupported, onnx_op, register, replaces_input
from .common import input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

SCALED_DIFF_INTEGER_BITS = 5  # exp() input format Q5.26
ACCUMULATION_INTEGER_BITS = 12  # sum of exps format Q12.19
OUTPUT_SCALE, OUTPUT_ZERO_POINT = 1.0 / 256.0, -128
# Each exponential is at most 1.0 = 2^19 in Q12.19, so 4095 of them stay below 2^31; 4096 values
# at the row maximum would overflow the int32 sum (undefined in C, and wrong).
MAX_DEPTH = (1 << ACCUMULATION_INTEGER_BITS) - 1

srdhm = arith.saturating_rounding_doubling_high_mul
rdbpot = arith.rounding_divide_by_pot


@onnx_op("Softmax", layout="transparent", constraints="over any axis (opset < 13: over the axes from `axis` on, "
                                                     "as ONNX coerces them to 2-D)")
def Softmax(ctx: ImportContext, input: Value, *, axis: int = -1) -> None:
    if input.const is not None:
        raise Unsupported("the input is a constant that was not folded")
    if not -input.rank <= axis < input.rank:
        raise Unsupported(f"axis {axis} is out of range for the input {list(input.shape)}")
    axis = axis % input.rank
    if input.shape[axis] > MAX_DEPTH:
        raise Unsupported(f"softmax over {input.shape[axis]} values (axis {axis} of {list(input.shape)}); "
                          f"TFLite's int8 algorithm sums the exponentials in Q12.19, which overflows beyond "
                          f"{MAX_DEPTH}")
    out = ctx.output_value(ctx.output_name)
    ctx.emit("softmax", [input.runtime], [out.runtime], beta=1.0, axis=_physical_axis(axis, input))


@onnx_op("LogSoftmax", layout="transparent", constraints="as Softmax; TFLite's int8 LOG_SOFTMAX arithmetic")
def LogSoftmax(ctx: ImportContext, input: Value, *, axis: int = -1) -> None:
    Softmax(ctx, input, axis=axis)
    ctx.graph.nodes[-1].attrs["log"] = True


def _physical_axis(axis: int, value: Value) -> int:
    """The position of ONNX axis `axis` in the stored tensor (feature maps are stored channels-last)."""
    if value.layout is Layout.CHANNELS_LAST:  # [N, C, H, W] stored [N, H, W, C]; [N, C, L] stored [N, 1, L, C]
        return {4: [0, 3, 1, 2], 3: [0, 3, 2]}[value.rank][axis]
    return axis


def softmax_view(shape: tuple[int, ...], axis: int | None) -> tuple[int, int, int]:
    """(outer, depth, inner) of a softmax over stored axis `axis` (None: the last) of a tensor of `shape`."""
    dims = list(shape)
    axis = len(dims) - 1 if axis is None else axis
    outer = int(np.prod(dims[:axis], dtype=np.int64))
    inner = int(np.prod(dims[axis + 1:], dtype=np.int64))
    return outer, dims[axis], inner


def softmax_parameters(input_scale: float, beta: float = 1.0) -> tuple[int, int, int]:
    """TFLite PreprocessSoftmaxScaling + CalculateInputRadius: (multiplier, left_shift, diff_min)."""
    real = min(float(beta) * float(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    multiplier, left_shift = arith.quantize_multiplier(real, max_shift=31)
    assert left_shift >= 0
    max_input_rescaled = (1.0 * ((1 << SCALED_DIFF_INTEGER_BITS) - 1)
                          * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift))
    diff_min = -math.floor(max_input_rescaled)
    return multiplier, left_shift, diff_min


def _saturating_left_shift(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, arith.INT32_MAX,
                    np.where(x < -threshold, arith.INT32_MIN, x << exponent))


def _exp_on_interval(a: np.ndarray) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8."""
    constant_term = 1895147668  # exp(-1/8)
    one_third = 715827883
    x = a + (1 << 28)  # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(srdhm(x4_over_4 + x3, one_third) + x2, 1)
    return constant_term + srdhm(constant_term, x + poly)


BARREL = [(-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
          (3, 720401), (4, 242)]  # exp(-2^k) in Q0.31


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """exp(a) for a <= 0 given in Q5.26; result in Q0.31 (gemmlowp exp_on_negative_values)."""
    fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    result = _exp_on_interval(_saturating_left_shift(a_mod_quarter_minus_one_quarter, SCALED_DIFF_INTEGER_BITS))
    remainder = a_mod_quarter_minus_one_quarter - a
    for exponent, multiplier in BARREL:
        bit = 1 << (fractional_bits + exponent)
        result = np.where(remainder & bit, srdhm(result, multiplier), result)
    return np.where(a == 0, arith.INT32_MAX, result)


def one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), Q0.31 in and out, by Newton-Raphson (gemmlowp)."""
    total = a + arith.INT32_MAX  # RoundingHalfSum(a, One): (sum + sign) / 2, truncating
    half_denominator = np.where(total >= 0, (total + 1) // 2, -((-(total - 1)) // 2))
    x = 1515870810 + srdhm(half_denominator, -1010580540)  # 48/17 - 32/17 d, in Q2.29
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = (1 << 29) - half_denominator_times_x
        x = x + _saturating_left_shift(srdhm(x, one_minus), 2)
    return _saturating_left_shift(x, 1)


def softmax_rows(x: np.ndarray, multiplier: int, left_shift: int, diff_min: int) -> np.ndarray:
    """TFLite reference_ops::Softmax for int8 -> int8 on rows [outer, depth]."""
    x = x.astype(np.int64)
    diff = x - x.max(axis=1, keepdims=True)
    used = diff >= diff_min
    rescaled = srdhm(diff * (1 << left_shift), multiplier)  # MultiplyByQuantizedMultiplierGreaterThanOne
    exps = exp_on_negative_values(rescaled)
    in_accumulator = rdbpot(exps, ACCUMULATION_INTEGER_BITS)  # Rescale Q0.31 -> Q12.19
    sum_of_exps = np.where(used, in_accumulator, 0).sum(axis=1, keepdims=True)
    sum_of_exps = arith._wrap_int32(sum_of_exps)
    _, exponent = np.frexp(np.maximum(sum_of_exps, 1).astype(np.float64))  # sum = m * 2^e, m in [0.5, 1)
    headroom_plus_one = 32 - exponent.astype(np.int64)  # count of leading zeros of the uint32
    num_bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom_plus_one
    shifted_sum_minus_one = arith._wrap_int32((sum_of_exps << headroom_plus_one) - (1 << 31))
    shifted_scale = one_over_one_plus_x(shifted_sum_minus_one)
    unsaturated = rdbpot(srdhm(shifted_scale, exps), num_bits_over_unit + 31 - 8)
    out = np.clip(unsaturated - 128, -128, 127)
    return np.where(used, out, -128).astype(np.int8)


EXP_TABLE_MIN_VALUES = 1024  # values per inference from which a layer's exponentials come from a table


def exp_table(multiplier: int, left_shift: int, diff_min: int) -> np.ndarray:
    """int32[256]: entry k is exp_on_negative_values of the rescaled difference -k (Q0.31), the value the
    kernel would compute for an input k steps below its row's max; 0 where -k < diff_min (never read).
    A row's differences are int8 - int8 in [-255, 0], so the 256 entries are every exponential the layer
    can need: tg_softmax_s8 reads them instead of evaluating the polynomial and barrel twice per value
    (same bytes; 1 KB of flash, used from EXP_TABLE_MIN_VALUES values on)."""
    diff = -np.arange(256, dtype=np.int64)
    used = diff >= diff_min
    rescaled = srdhm(np.where(used, diff, 0) * (1 << left_shift), multiplier)
    return np.where(used, exp_on_negative_values(rescaled), 0).astype(np.int32)


# --- LogSoftmax: TFLite's int8 LOG_SOFTMAX (reference_integer_ops::LogSoftmax) -----------------------
LOG_OUTPUT_SCALE, LOG_OUTPUT_ZERO_POINT = 16.0 / 256.0, 127  # [-16, 0] onto [-128, 127]
OUTPUT_INTEGER_BITS = 4  # the output in Q4.27 before its rounding to 1/16 steps
LOG_BITS = 5  # log(sum) in Q5.26 (an accumulator of 6 integer bits inside, for headroom)
LOG_CONSTANTS = {"log_2": 1488522236, "sqrt_sqrt_half": 1805811301, "sqrt_half": 1518500250,
                 "alpha_n": 117049297, "alpha_d": 127690142, "alpha_i": 1057819769, "alpha_f": 638450708}


def _pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT with a run-time exponent of either sign."""
    x = np.asarray(x, np.int64)
    exponent = np.broadcast_to(np.asarray(exponent, np.int64), x.shape)
    left = np.minimum(np.maximum(exponent, 0), 31)
    threshold = (np.int64(1) << (31 - left)) - 1
    shifted = np.where(x > threshold, arith.INT32_MAX, np.where(x < -threshold, arith.INT32_MIN, x << left))
    return np.where(exponent > 0, shifted, rdbpot(x, np.maximum(-exponent, 0)))


def _clz(x: np.ndarray) -> np.ndarray:
    """Leading zeros of x as a uint32 (32 for 0)."""
    x = np.asarray(x, np.int64) & 0xFFFFFFFF
    _, exponent = np.frexp(np.maximum(x, 1).astype(np.float64))
    return np.where(x == 0, 32, 32 - exponent.astype(np.int64))


def _saturate(x: np.ndarray) -> np.ndarray:
    return np.clip(x, arith.INT32_MIN, arith.INT32_MAX)


def log_x_ge_1(z: np.ndarray, input_integer_bits: int) -> np.ndarray:
    """TFLite log_x_for_x_greater_than_or_equal_to_1<5>: log of a Q(input_integer_bits) value, Q5.26 result.
    The mantissa's log comes from a rational approximation around sqrt(sqrt(1/2)); the exponent adds
    multiples of log 2 (with 6 integer bits of accumulator headroom)."""
    c = LOG_CONSTANTS
    accum_bits = LOG_BITS + 1
    quarter = rdbpot(np.int64(1 << 29), accum_bits)  # 1/4 in Q6.25
    z = np.asarray(z, np.int64)
    a_headroom_plus_1 = _clz(z)
    r_a = _pot(srdhm(_pot(z, a_headroom_plus_1 - 1), c["sqrt_half"]), 1)
    a_pow_2 = _saturate(_pot(input_integer_bits - a_headroom_plus_1, 31 - accum_bits) + quarter)
    z_b = srdhm(z, c["sqrt_half"])
    b_headroom = _clz(z_b) - 1
    r_b = _pot(z, b_headroom)
    b_pow_2 = _saturate(_pot(input_integer_bits - b_headroom, 31 - accum_bits) - quarter)
    r = np.minimum(r_a, r_b)
    pow_2 = np.maximum(a_pow_2, b_pow_2)
    total = r + c["sqrt_sqrt_half"]
    p = np.where(total >= 0, (total + 1) // 2, -((-(total - 1)) // 2))  # RoundingHalfSum: (sum +- 1) / 2, truncated
    q = 2 * (r - c["sqrt_sqrt_half"])
    square = srdhm(q, q)
    num = srdhm(q, r) + srdhm(srdhm(q, square), c["alpha_n"])
    denominator_minus_one = srdhm(p, c["alpha_i"] + q + srdhm(c["alpha_d"], square)) + srdhm(c["alpha_f"], q)
    reciprocal = one_over_one_plus_x(denominator_minus_one)
    result = srdhm(pow_2, c["log_2"]) + srdhm(rdbpot(num, accum_bits), reciprocal)
    return _pot(result, accum_bits - LOG_BITS)


def log_softmax_parameters(multiplier: int, left_shift: int) -> tuple[int, int]:
    """TFLite PreprocessLogSoftmaxScalingExp: the reverse scaling 2^(31 - left_shift) / multiplier as
    (multiplier, shift <= 0), which maps a Q5.26 value back to input steps."""
    real = float(1 << (31 - left_shift)) / float(multiplier)
    reverse, shift = arith.quantize_multiplier(real)
    if shift > 0:  # left_shift 0 (an input scale near 2^-26): TFLite refuses it; the nearest value <= 1 here
        return arith.INT32_MAX, 0
    return reverse, shift


def log_softmax_rows(x: np.ndarray, multiplier: int, left_shift: int, diff_min: int, reverse_multiplier: int,
                     reverse_shift: int) -> np.ndarray:
    """TFLite reference_integer_ops::LogSoftmax for int8 -> int8 on rows [outer, depth]."""
    x = x.astype(np.int64)
    diff = x - x.max(axis=1, keepdims=True)
    used = diff >= diff_min
    rescaled = srdhm(diff * (1 << left_shift), multiplier)
    exps = rdbpot(exp_on_negative_values(rescaled), ACCUMULATION_INTEGER_BITS)
    sum_of_exps = np.where(used, exps, 0).sum(axis=1, keepdims=True)
    log_sum = log_x_ge_1(sum_of_exps, ACCUMULATION_INTEGER_BITS)  # Q5.26
    shifted = arith._wrap_int32(log_sum + arith.INT32_MIN)
    adjusted_diff_min = np.maximum(diff_min - 1,
                                   arith.multiply_by_quantized_multiplier(shifted, reverse_multiplier, reverse_shift))
    # In int64: the guard keeps it above -2^31, and int64 stays defined where a rounding would not.
    value = rdbpot(rescaled - log_sum, 31 - LOG_BITS - OUTPUT_INTEGER_BITS) + LOG_OUTPUT_ZERO_POINT
    return np.where(diff > adjusted_diff_min, np.clip(value, -128, 127), -128).astype(np.int8)


@register
class SoftmaxOp(Op):
    name = "softmax"
    summary = "softmax or log-softmax over any axis, TFLite int8 SOFTMAX / LOG_SOFTMAX fixed-point arithmetic"
    # Row by row: the max and the sum read the row, then each output replaces the input it was just
    # computed from, in order (tg_softmax.h).
    kernels = (Kernel("tg_softmax_s8", "tg_softmax_params", in_place=replaces_input),
               # 16x8: TFLite's int16 SOFTMAX (tables), the row's exponentials in scratch (tg_s16.h)
               Kernel("tg_softmax_s16", "tg_softmax_s16_params", activations="int16", in_place=replaces_input,
                      scratch=lambda node, graph: 2 * softmax_view(graph.tensors[node.outputs[0]].shape,
                                                                   node.attrs.get("axis"))[1]))
    activation_precisions = ("int8", "int16")

    def quantize(self, node: Node, graph: Graph) -> None:
        if graph.tensors[node.outputs[0]].dtype == "int16":
            node.params = quantize_s16(node, graph)
            return
        in_scale, _ = input_quant(graph, node)
        out_scale, out_zp = output_quant(graph, node)
        multiplier, left_shift, diff_min = softmax_parameters(in_scale, node.attrs.get("beta", 1.0))
        own_scale, own_zp = self.fixed_output_quant(node, graph)
        rescale = not (np.float32(out_scale) == np.float32(own_scale) and out_zp == own_zp)
        out_multiplier, out_shift = (arith.quantize_multiplier(own_scale / float(out_scale))
                                     if rescale else (0, 0))
        reverse_multiplier, reverse_shift = (log_softmax_parameters(multiplier, left_shift)
                                             if node.attrs.get("log") else (0, 0))
        node.params = {"input_multiplier": multiplier, "input_left_shift": left_shift, "diff_min": diff_min,
                       "rescale": rescale, "output_multiplier": out_multiplier, "output_shift": out_shift,
                       "output_offset": out_zp, "reverse_multiplier": reverse_multiplier,
                       "reverse_shift": reverse_shift}

    def fixed_output_quant(self, node: Node, graph: Graph) -> tuple[float, int]:
        if graph.tensors[node.outputs[0]].dtype == "int16":
            return S16_OUTPUT_SCALE, 0
        if node.attrs.get("log"):
            return LOG_OUTPUT_SCALE, LOG_OUTPUT_ZERO_POINT
        return OUTPUT_SCALE, OUTPUT_ZERO_POINT

    output_quant = "fixed"

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        shape = graph.tensors[node.outputs[0]].shape
        outer, depth, inner = softmax_view(shape, node.attrs.get("axis"))
        rows = inputs[0].reshape(outer, depth, inner).transpose(0, 2, 1).reshape(-1, depth)
        if p.get("s16"):
            out16 = softmax_rows_s16(rows, p["input_multiplier"], p["input_shift"])
            return [out16.reshape(outer, inner, depth).transpose(0, 2, 1).reshape(shape)]
        if node.attrs.get("log"):
            out = log_softmax_rows(rows, p["input_multiplier"], p["input_left_shift"], p["diff_min"],
                                   p["reverse_multiplier"], p["reverse_shift"])
        else:
            out = softmax_rows(rows, p["input_multiplier"], p["input_left_shift"], p["diff_min"])
        out = out.reshape(outer, inner, depth).transpose(0, 2, 1)
        if p["rescale"]:
            _, own_zp = self.fixed_output_quant(node, graph)
            out = arith.requantize(out.astype(np.int64) - own_zp, p["output_multiplier"],
                                   p["output_shift"], p["output_offset"], -128, 127)
        return [out.reshape(shape)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        outer, depth, inner = softmax_view(graph.tensors[node.outputs[0]].shape, node.attrs.get("axis"))
        if p.get("s16"):  # tg_softmax_s16_params
            fields = [("rows", str(outer * inner)), ("depth", str(depth)), ("inner", str(inner)),
                      ("input_multiplier", str(p["input_multiplier"])), ("input_shift", str(p["input_shift"])),
                      ("exp_table", ctx.array("exp_table", EXP_TABLE, "exp on [-10, 0], Q0.15 (TFLite's gen_lut)")),
                      ("one_over_one_plus_x_table", ctx.array("reciprocal_table", RECIPROCAL_TABLE,
                                                              "1 / (1 + x) on [0, 1], Q0.15 (TFLite's gen_lut)"))]
            return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
        fields = [("rows", str(outer * inner)), ("depth", str(depth)), ("inner", str(inner)),
                  ("input_multiplier", str(p["input_multiplier"])),
                  ("input_left_shift", str(p["input_left_shift"])), ("diff_min", str(p["diff_min"])),
                  ("rescale", "1" if p["rescale"] else "0"),
                  ("output_multiplier", str(p["output_multiplier"])), ("output_shift", str(p["output_shift"])),
                  ("output_offset", str(p["output_offset"])), ("log", "1" if node.attrs.get("log") else "0"),
                  ("reverse_multiplier", str(p.get("reverse_multiplier", 0))),
                  ("reverse_shift", str(p.get("reverse_shift", 0)))]
        table = "NULL"
        if outer * inner * depth >= EXP_TABLE_MIN_VALUES:
            table = ctx.array("exp_table", exp_table(p["input_multiplier"], p["input_left_shift"], p["diff_min"]),
                              "exp of the rescaled difference -k from the row's max, Q0.31, at [k]")
        fields.append(("exp_table", table))
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])


# --- 16x8: TFLite's int16 SOFTMAX ------------------------------------------------------------------
# Output scale 1/32768, zero point 0. The difference of each input to its row's max (in [-65535, 0]) is
# scaled by beta s_in / (10 / 65535) so that [-10, 0] spans the exp table's symmetric int16 input; the
# sum of the Q0.15 exponentials is normalized to (1 + x) 2^16 and its reciprocal read from a second table.
# Both tables are TFLite's gen_lut<float, int16, int16>: 512 steps plus the end point, each sample
# corrected by half the error the linear interpolation makes at the step's midpoint.

S16_OUTPUT_SCALE = 1.0 / 32768.0


def gen_lut_s16(function: Callable[[np.ndarray], np.ndarray], low: float, high: float) -> np.ndarray:
    """TFLite's gen_lut for an int16 table over [low, high] with output range [-1, 1], in float32."""
    f32 = np.float32
    step = f32((f32(high) - f32(low)) / f32(512))
    half = f32(step / f32(2))
    scale = f32(65536.0) / f32(2.0)
    i = np.arange(512, dtype=np.float32)
    at = f32(low) + i * step

    def rounded(x: np.ndarray) -> np.ndarray:  # std::round on float
        return np.where(x >= 0, np.floor(x + f32(0.5)), np.ceil(x - f32(0.5))).astype(np.float32)

    value = function(at).astype(np.float32)
    midpoint = function((at + half).astype(np.float32)).astype(np.float32)
    following = function((f32(low) + (i + f32(1)) * step).astype(np.float32)).astype(np.float32)
    sample = rounded(value * scale)
    interpolated = rounded((following * scale + rounded(value * scale)) / f32(2))
    error = interpolated - rounded(midpoint * scale)
    bias = rounded(error / f32(2))
    table = np.clip(sample - bias, -32768, 32767)
    last = np.clip(rounded(function(np.array([high], np.float32)).astype(np.float32) * scale), -32768, 32767)
    return np.concatenate([table, last]).astype(np.int16)


EXP_TABLE = gen_lut_s16(np.exp, -10.0, 0.0)
RECIPROCAL_TABLE = gen_lut_s16(lambda x: np.float32(1.0) / (np.float32(1.0) + x), 0.0, 1.0)


def table_lookup_s16(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    """TFLite's generic_int16_table_lookup (C: tg_table_lookup_s16): linear interpolation between the
    entries 2^7 input steps apart, rounded half up."""
    x = np.asarray(x, np.int64) + 32768
    index = x >> 7
    base = table[index].astype(np.int64)
    slope = table[index + 1].astype(np.int64) - base
    return (base + ((slope * (x & 127) + 64) >> 7)).astype(np.int64)


def quantize_s16(node: Node, graph: Graph) -> dict:
    if node.attrs.get("log"):
        raise TinygenError(f"node '{node.name}': log-softmax with int16 activations is not supported",
                           hint='Keep this layer at int8 with a precision file: {"<layer>": {"activations": "int8"}}.')
    in_scale, in_zp = input_quant(graph, node)
    out_scale, out_zp = output_quant(graph, node)
    if in_zp != 0 or out_zp != 0 or np.float32(out_scale) != np.float32(S16_OUTPUT_SCALE):
        raise TinygenError(f"node '{node.name}': an int16 softmax needs a symmetric input and output scale 1/32768 "
                           f"(got input zero point {in_zp}, output scale {out_scale:.6g} zero point {out_zp})")
    real = np.float64(in_scale) * np.float64(node.attrs.get("beta", 1.0)) / (10.0 / 65535.0)
    multiplier, shift = arith.quantize_multiplier(float(real))
    if shift > 15:  # (x - max) << shift must stay in int32 for |x - max| <= 65535
        raise TinygenError(f"node '{node.name}': the int16 softmax's input scale {in_scale:.3g} is too fine")
    return {"input_multiplier": multiplier, "input_shift": shift, "s16": True}


def softmax_rows_s16(rows: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's int16 softmax of each row (int16 values) -> int16 in 1/32768 steps (C: tg_softmax_s16)."""
    x = rows.astype(np.int64)
    diff = x - x.max(axis=1, keepdims=True)
    scaled = arith.multiply_by_quantized_multiplier(diff, multiplier, shift) + 32767
    exps = table_lookup_s16(np.clip(scaled, -32768, 32767), EXP_TABLE)
    total = exps.sum(axis=1, keepdims=True)
    headroom = 32 - np.floor(np.log2(total)).astype(np.int64) - 1  # leading zeros of the uint32 sum
    shifted = ((total << (headroom - 1)) + (1 << 13)) >> 14
    reciprocal = table_lookup_s16(np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), RECIPROCAL_TABLE)
    right = 31 - headroom
    result = (exps * reciprocal + (np.int64(1) << (right - 1))) >> right
    return np.clip(result, 0, 32767).astype(np.int16)
