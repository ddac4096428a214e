"""Integer arithmetic of the TFLite int8 scheme, in numpy, mirroring firmware/.../tg_requant.h.

This module is the one place where the fixed-point rules are written in Python. Every golden
kernel requantizes through `multiply_by_quantized_multiplier`, and every kernel parameter
(multiplier, shift) is derived with `quantize_multiplier`, exactly as TFLite derives them, so
that models converted from TFLite reproduce TFLite Micro's bytes.

Conventions (TFLite's): a real multiplier M > 0 is represented as M = m * 2^(shift - 31) with
m a Q31 int32 in [2^30, 2^31) and shift an int; `shift > 0` is a left shift. Requantization is
"double rounding": a saturating rounding doubling high multiply (ties toward +infinity), then a
rounding (ties away from zero) arithmetic right shift, which is what TFLite Micro builds by default (no
TFLITE_SINGLE_ROUNDING) -- tests/test_qdq.py checks it against the tflite-micro package and
tests/kernels/test_requant.py against the C.

All arrays are computed in int64 so intermediate products cannot overflow; results are int32.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
DTYPE_RANGES = {"int8": (INT8_MIN, INT8_MAX), "int16": (INT16_MIN, INT16_MAX)}  # activation storage types


def round_half_away(x: float) -> int:
    """std::round: ties away from zero (Python's round() would go to even)."""
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def round_half_away_array(x: np.ndarray) -> np.ndarray:
    """Elementwise std::round (ties away from zero), as TFLite rounds weights and biases."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_multiplier(real: float, max_shift: int = 30) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real -> (Q31 multiplier, shift) with real ~= m * 2^(shift-31).

    `max_shift`: requantization shifts an int32 left by `shift`, undefined in C from 31 on; softmax
    passes 31 (its input multiplier is capped at 2^31 - 1 and its kernel shifts with saturation)."""
    if real == 0.0:
        return 0, 0
    if not (real > 0.0 and math.isfinite(real)):
        raise ValueError(f"a requantization multiplier must be positive and finite, got {real}")
    fraction, shift = math.frexp(real)  # real = fraction * 2^shift, fraction in [0.5, 1)
    fixed = round_half_away(fraction * (1 << 31))
    if fixed == 1 << 31:  # the fraction rounded up to 1.0: renormalize
        fixed //= 2
        shift += 1
    if shift < -31:  # every bit would be shifted out: flush to zero as TFLite does
        return 0, 0
    if shift > max_shift:  # x << 31 or more is undefined in C; no sane pair of scales gets here
        raise ValueError(f"requantization multiplier {real:g} is too large (at most 2^{max_shift})")
    return fixed, shift


def quantize_multipliers(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    multipliers = np.array([m for m, _ in pairs], dtype=np.int32)
    shifts = np.array([s for _, s in pairs], dtype=np.int32)
    return multipliers, shifts


def _wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of an int64 array to int32 range (what the C code does via uint32)."""
    return ((x + 2**31) % 2**32) - 2**31


def saturating_rounding_doubling_high_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """gemmlowp SRDHM: round(a * b / 2^31), ties toward +infinity (-1.5 -> -1, 1.5 -> 2: gemmlowp's
    nudge of 1 - 2^30 for negative products, then truncation), saturating INT_MIN * INT_MIN."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    # C integer division truncates toward zero; numpy's >> floors, so divide the magnitude.
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    return np.where(overflow, INT32_MAX, high)


def rounding_divide_by_pot(x: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, exponent in [0, 31]."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: ArrayLike, multiplier: ArrayLike, shift: ArrayLike) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier (double rounding) on int32 values, returning int64.

    The left shift of a multiplier > 1 is applied to x first and wraps like int32 arithmetic on
    the target (TFLite shifts an int32 there); a right shift is applied after the high multiply.
    """
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = _wrap_int32(x << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def requantize(acc: ArrayLike, multiplier: ArrayLike, shift: ArrayLike,
               output_zero_point: int, act_min: int, act_max: int) -> np.ndarray:
    """The common epilogue: clamp(zp_out + MBQM(acc), act_min, act_max) as int8."""
    out = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_zero_point
    return np.clip(out, act_min, act_max).astype(np.int8)


def multiply_by_quantized_multiplier_64(x: ArrayLike, multiplier: ArrayLike, shift: ArrayLike) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator (the 16x8 conv / fully connected
    kernels): the Q31 multiplier is first rounded to Q15 ((m + 2^15) >> 16, or 2^15 - 1 from 0x7FFF0000 up,
    so it cannot reach 2^15), then x * m15 is shifted right by 15 - shift rounding half up (+2^(14 - shift),
    arithmetic shift). TFLite requires |x| < 2^47 and shift in [-31, 7] (quantize checks both), so the
    product stays below 2^62. Returns int64 (the caller clamps to the output's range). C: tg_requantize_s64."""
    x = np.asarray(x, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    reduced = np.where(multiplier < 0x7FFF0000, (multiplier + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - shift
    return (x * reduced + (np.int64(1) << (total - 1))) >> total


def requantize_64(acc: ArrayLike, multiplier: ArrayLike, shift: ArrayLike, act_min: int, act_max: int) -> np.ndarray:
    """The 16x8 epilogue of conv / depthwise / fully connected: clamp(MBQM64(acc)) as int16 (zero point 0)."""
    out = multiply_by_quantized_multiplier_64(acc, multiplier, shift)
    return np.clip(out, act_min, act_max).astype(np.int16)


# --- choosing quantization parameters ----------------------------------------------------------

def choose_int16_params(rmin: float, rmax: float) -> tuple[float, int]:
    """Symmetric int16 (scale, zero point 0) covering [rmin, rmax]: TFLite's 16x8 activations,
    scale max(|min|, |max|) / 32767 in float32."""
    bound = max(abs(float(rmin)), abs(float(rmax)))
    if bound < 1e-9:  # a constant-zero tensor: any scale represents it
        bound = 1e-3
    return float(np.float32(bound / INT16_MAX)), 0


def choose_params(rmin: float, rmax: float, dtype: str) -> tuple[float, int]:
    """The activation parameters of a tensor stored as `dtype` ("int8" asymmetric, "int16" symmetric)."""
    return choose_int16_params(rmin, rmax) if dtype == "int16" else choose_activation_params(rmin, rmax)


def choose_activation_params(rmin: float, rmax: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [rmin, rmax] and exactly representing 0.0.

    The range is widened to include 0 (so zero padding and ReLU are exact), the scale is
    (max - min) / 255 in float32, and the zero point is the rounded -128 - min/scale, clamped --
    the same nudging TFLite's converter applies.
    """
    rmin = min(float(rmin), 0.0)
    rmax = max(float(rmax), 0.0)
    if rmax - rmin < 1e-9:  # a constant-zero tensor: any scale represents it
        rmax = rmin + 1e-3
    scale = np.float32((rmax - rmin) / 255.0)
    zero_point = round_half_away(INT8_MIN - rmin / float(scale))
    return float(scale), int(np.clip(zero_point, INT8_MIN, INT8_MAX))


def quantize_symmetric(values: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 in [-127, 127] (TFLite's weight scheme): per channel along `axis`, or per tensor.

    Returns (int8 values, float32 scales). An all-zero channel gets scale 1 so nothing divides by 0.
    """
    values = np.asarray(values, dtype=np.float32)
    if axis is None:
        max_abs = np.array([np.max(np.abs(values))], dtype=np.float32)
        scales = np.where(max_abs > 0, max_abs / np.float32(127), np.float32(1)).astype(np.float32)
        q = np.clip(round_half_away_array(values / scales[0]), -127, 127)
        return q.astype(np.int8), scales
    moved = np.moveaxis(values, axis, 0)
    max_abs = np.max(np.abs(moved.reshape(moved.shape[0], -1)), axis=1)
    scales = np.where(max_abs > 0, max_abs / np.float32(127), np.float32(1)).astype(np.float32)
    shape = [1] * values.ndim
    shape[axis] = -1
    q = np.clip(round_half_away_array(values / scales.reshape(shape)), -127, 127)
    return q.astype(np.int8), scales


def quantize_bias(bias: np.ndarray, input_scale: float, weight_scales: np.ndarray) -> np.ndarray:
    """int32 bias with scale s_in * s_w[c] (zero point 0), as TFLite quantizes it."""
    bias_scales = np.float64(input_scale) * weight_scales.astype(np.float64)
    q = round_half_away_array(np.asarray(bias, np.float64) / bias_scales)
    return np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32)


def activation_bounds(min_value: float | None, max_value: float | None, scale: float,
                      zero_point: int, dtype: str = "int8") -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for a fused clamp [min_value, max_value]."""
    act_min, act_max = DTYPE_RANGES[dtype]
    if min_value is not None:
        act_min = max(act_min, zero_point + round_half_away(min_value / scale))
    if max_value is not None:
        act_max = min(act_max, zero_point + round_half_away(max_value / scale))
    return act_min, max(act_min, act_max)


# --- the float boundary (mirrors tg_quantize_f32 / tg_dequantize_f32 in C) -------------------

def quantize_float(x: np.ndarray, scale: float, zero_point: int, dtype: str = "int8") -> np.ndarray:
    """float32 -> int8: round_half_away(x / scale) + zp, clamped, computed in float32 as the C does.

    Mirrors tg_quantize_f32 in firmware: the quotient is a float32 division, the rounding is
    std::round's (ties away from zero) done by truncation and comparing the exact remainder, and
    NaN maps to the zero point.
    """
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        v = x / np.float32(scale)
        v = np.nan_to_num(v, nan=0.0)
        v = np.clip(v, np.float32(-1e6), np.float32(1e6))
        t = np.trunc(v)
        frac = v - t
        r = t + (frac >= np.float32(0.5)) - (frac <= np.float32(-0.5))
    q = r.astype(np.int64) + zero_point
    low, high = DTYPE_RANGES[dtype]
    return np.clip(q, low, high).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 -> float32: (q - zp) * scale in float32, as tg_dequantize_f32 does."""
    diff = np.asarray(q, dtype=np.int32) - np.int32(zero_point)
    return diff.astype(np.float32) * np.float32(scale)
