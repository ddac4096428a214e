"""Requantization is defined once in C (firmware/tinygen_kernels/include/tg_requant.h) and mirrored
once in numpy (tinygen/arith.py). These tests drive millions of random and edge-case arguments
through both, compared exactly, with the C built under ASan/UBSan; and they pin
tinygen.arith.quantize_multiplier to TFLite's QuantizeMultiplier.

Domains (tg_requant.h / tg_types.h): multiplier in [0, 2^31), shift in [-31, 30], x any int32.
The left shift of a shift > 0 is defined by tinygen to wrap like a two's-complement int32
(tg_requant.h shifts a uint32; arith._wrap_int32 mirrors it), so x covers the whole int32 range
for every shift.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tinygen import arith

from .helpers import HERE, assert_same_results, build_sanitized, run_records

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
SHIFT_MIN, SHIFT_MAX = -31, 30
MULTIPLIER_END = 2**31  # exclusive

# x values where int32 arithmetic is most likely to go wrong.
EDGE_X = np.array(sorted({INT32_MIN, INT32_MIN + 1, INT32_MIN + 2, -1, 0, 1, 2, INT32_MAX - 1, INT32_MAX,
                          *[s * (2**k) + d for k in range(1, 31) for s in (1, -1) for d in (-1, 0, 1)],
                          *[s * 255 * (2**20) for s in (1, -1)], *[s * 65025 for s in (1, -1)]}), dtype=np.int64)
EDGE_MULTIPLIERS = np.array([0, 1, 2, 2**29, 2**30 - 1, 2**30, 2**30 + 1, 3 * 2**29, 2**31 - 2, 2**31 - 1],
                            dtype=np.int64)
EDGE_SHIFTS = np.array([-31, -30, -29, -2, -1, 0, 1, 2, 29, 30], dtype=np.int64)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sanitized(HERE / "requant_driver.c", tmp_path_factory.mktemp("requant"))


def _int32(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.integers(INT32_MIN, INT32_MAX, size=size, endpoint=True, dtype=np.int64)


def requantize_triples(seed: int) -> np.ndarray:
    """About 2.2 million (x, multiplier, shift) triples: uniform, edge and tie-producing ones."""
    rng = np.random.default_rng(seed)
    parts = []
    # Uniform over the whole domain.
    n = 1_000_000
    parts.append(np.stack([_int32(rng, n), rng.integers(0, MULTIPLIER_END, n),
                           rng.integers(SHIFT_MIN, SHIFT_MAX, n, endpoint=True)], axis=1))
    # Edge x against random multipliers and shifts; edge multipliers and shifts against random x.
    n = 400_000
    parts.append(np.stack([rng.choice(EDGE_X, n), rng.integers(0, MULTIPLIER_END, n),
                           rng.integers(SHIFT_MIN, SHIFT_MAX, n, endpoint=True)], axis=1))
    parts.append(np.stack([_int32(rng, n), rng.choice(EDGE_MULTIPLIERS, n), rng.choice(EDGE_SHIFTS, n)], axis=1))
    # Every combination of the edge values.
    grid = np.array(np.meshgrid(EDGE_X, EDGE_MULTIPLIERS, EDGE_SHIFTS, indexing="ij")).reshape(3, -1).T
    parts.append(grid)
    # What kernels actually see: int8-layer accumulators with normalized multipliers, mostly right shifts.
    n = 200_000
    parts.append(np.stack([rng.integers(-(2**20), 2**20, n), rng.integers(2**30, MULTIPLIER_END, n),
                           rng.integers(-20, 4, n)], axis=1))
    # Ties in both rounding steps: m = 2^30 halves exactly, and x = odd * 2^e then leaves
    # exactly half a unit for the right shift by e.
    n = 200_000
    exponent = rng.integers(1, 31, n)
    odd = 2 * rng.integers(-(2**15), 2**15, n) + 1
    x = np.clip(odd << exponent, INT32_MIN, INT32_MAX)
    parts.append(np.stack([x, np.full(n, 2**30), 1 - exponent], axis=1))
    # Odd x with m = 2^30 and shift 0: SRDHM rounds a half in both directions (+ and - values).
    n = 100_000
    parts.append(np.stack([2 * _int32(rng, n) // 2 | 1, np.full(n, 2**30), np.zeros(n, np.int64)], axis=1))
    triples = np.concatenate(parts)
    assert triples[:, 0].min() >= INT32_MIN and triples[:, 0].max() <= INT32_MAX
    assert triples[:, 1].min() >= 0 and triples[:, 1].max() < MULTIPLIER_END
    assert triples[:, 2].min() == SHIFT_MIN and triples[:, 2].max() == SHIFT_MAX
    return triples.astype(np.int32)


def test_requantize_c_equals_numpy_on_millions_of_triples(driver: Path) -> None:
    triples = requantize_triples(seed=20240601)
    assert len(triples) >= 2_000_000
    expected = arith.multiply_by_quantized_multiplier(triples[:, 0], triples[:, 1], triples[:, 2])
    assert expected.min() >= INT32_MIN and expected.max() <= INT32_MAX  # the numpy mirror stays in int32
    actual = run_records(driver, "requantize", triples)
    assert_same_results(expected, actual, {"x": triples[:, 0], "multiplier": triples[:, 1],
                                           "shift": triples[:, 2]}, "tg_requantize vs arith.MBQM")


def test_divide_by_power_of_two_c_equals_numpy(driver: Path) -> None:
    rng = np.random.default_rng(7)
    n = 600_000
    x = np.concatenate([_int32(rng, n), rng.choice(EDGE_X, n // 2),
                        rng.integers(-1000, 1000, n // 2)])
    exponent = rng.integers(0, 31, x.size, endpoint=True)
    # Exact ties: +-(2j + 1) * 2^(e - 1) / 2^e = +-(j + 1/2).
    e = rng.integers(1, 31, n // 2, endpoint=True)
    j = rng.integers(0, 2**16, n // 2)
    ties = np.clip((2 * j + 1) << (e - 1), 0, INT32_MAX) * rng.choice([-1, 1], n // 2)
    grid_x, grid_e = np.meshgrid(EDGE_X, np.arange(32), indexing="ij")
    x = np.concatenate([x, ties, grid_x.ravel()])
    exponent = np.concatenate([exponent, e, grid_e.ravel()])
    pairs = np.stack([x, exponent], axis=1).astype(np.int32)
    expected = arith.rounding_divide_by_pot(pairs[:, 0], pairs[:, 1])
    actual = run_records(driver, "divide", pairs)
    assert_same_results(expected, actual, {"x": pairs[:, 0], "exponent": pairs[:, 1]},
                        "tg_divide_by_power_of_two vs arith.rounding_divide_by_pot")


def test_doubling_high_mul_c_equals_numpy(driver: Path) -> None:
    rng = np.random.default_rng(11)
    n = 600_000
    a = np.concatenate([_int32(rng, n), rng.choice(EDGE_X, n // 2), _int32(rng, n // 2) | 1])
    b = np.concatenate([rng.integers(0, MULTIPLIER_END, n), rng.integers(0, MULTIPLIER_END, n // 2),
                        np.full(n // 2, 2**30)])  # odd a times 2^30: exactly half a unit
    grid_a, grid_b = np.meshgrid(EDGE_X, EDGE_MULTIPLIERS, indexing="ij")
    pairs = np.stack([np.concatenate([a, grid_a.ravel()]), np.concatenate([b, grid_b.ravel()])],
                     axis=1).astype(np.int32)
    expected = arith.saturating_rounding_doubling_high_mul(pairs[:, 0], pairs[:, 1])
    actual = run_records(driver, "high_mul", pairs)
    assert_same_results(expected, actual, {"a": pairs[:, 0], "b": pairs[:, 1]},
                        "tg_doubling_high_mul vs arith.SRDHM")


# Hand-derived values, so that C and numpy cannot agree on something that is not TFLite's rule.
KNOWN_REQUANTIZE = [
    # (x, multiplier, shift, result); multiplier 2^30 is 0.5, so (2^30, 1) is 1.0
    (12345, 2**30, 1, 12345),  # multiplier 1.0 is the identity
    (3, 2**30, 0, 2),  # 1.5: the doubling high multiply rounds +1/2 up
    (-3, 2**30, 0, -1),  # -1.5 -> -1: gemmlowp's SRDHM nudge (1 - 2^30) rounds -1/2 toward +infinity
    (-1, 2**30, 0, 0),  # -0.5 -> 0, same rule
    (6, 2**30, -1, 2),  # 6 * 0.5 = 3 exactly, then 3 / 2 = 1.5: the shift rounds half away from zero
    (-6, 2**30, -1, -2),  # -1.5 -> -2 in the shift (away from zero, unlike the multiply)
    (5, 2**30, -1, 2),  # 1.25 -> 2: double rounding (2.5 -> 3, then 1.5 -> 2); single rounding gives 1
    (-5, 2**30, -1, -1),  # -1.25: -2.5 -> -2, then -1 exactly
    (INT32_MAX, 2**31 - 1, 0, INT32_MAX - 1),  # (2^31 - 1)^2 / 2^31 = 2^31 - 2 + 2^-31
    (INT32_MIN, 2**31 - 1, 0, INT32_MIN + 1),  # -2^31 + 1 exactly
    (INT32_MIN, 2**30, 30, 0),  # the left shift wraps: -2^31 * 2^30 == 0 (mod 2^32)
    (1, 2**30, 30, 2**29),  # 1 * 0.5 * 2^30
    (INT32_MAX, 2**30, -31, 1),  # (2^31 - 1) / 2 -> 2^30 (tie up), then 2^30 / 2^31 = 1/2 -> 1
    (INT32_MIN, 2**30, -31, -1),  # -2^30 exactly, then -1/2 -> -1 (away from zero)
]


@pytest.mark.parametrize("x,multiplier,shift,result", KNOWN_REQUANTIZE)
def test_requantize_known_values(driver: Path, x: int, multiplier: int, shift: int, result: int) -> None:
    numpy_value = int(arith.multiply_by_quantized_multiplier(x, multiplier, shift))
    c_value = int(run_records(driver, "requantize", np.array([[x, multiplier, shift]]))[0])
    assert (numpy_value, c_value) == (result, result), f"MBQM({x}, {multiplier}, {shift})"


# --- quantize_multiplier: TFLite's QuantizeMultiplier ----------------------------------------

@pytest.mark.parametrize("real,expected", [
    (0.0, (0, 0)),
    (1.0, (2**30, 1)),
    (0.5, (2**30, 0)),
    (0.75, (3 * 2**29, 0)),
    (2.0**-31, (2**30, -30)),
    # Ties of fraction * 2^31 round away from zero (std::round), not to even as Python's round():
    # 0.5 + 2^-32 is 2^30 + 1/2 in Q31 -> 2^30 + 1 (round() would give 2^30).
    (0.5 + 2.0**-32, (2**30 + 1, 0)),
    ((0.5 + 2.0**-32) * 2.0**-10, (2**30 + 1, -10)),
    (0.5 + 3 * 2.0**-32, (2**30 + 2, 0)),  # 2^30 + 3/2 -> 2^30 + 2 either way
    (1.0 - 2.0**-31, (2**31 - 1, 0)),  # the largest Q31 value, exactly
    # The fraction rounds up to 2^31: renormalized to 2^30 with the shift incremented.
    (1.0 - 2.0**-32, (2**30, 1)),  # 2^31 - 1/2 -> 2^31 (tie away from zero)
    (1.0 - 2.0**-33, (2**30, 1)),
    (4.0 * (1.0 - 2.0**-33), (2**30, 3)),
    # Flush to zero: a shift below -31 would shift every bit out (real < 2^-32).
    (2.0**-32, (2**30, -31)),  # the smallest real that is kept
    (2.0**-32 * (1.0 - 2.0**-34), (2**30, -31)),  # rounds up to 2^-32 first, then is kept
    (2.0**-32 * 0.75, (0, 0)),
    (2.0**-33, (0, 0)),
    (5e-324, (0, 0)),  # the smallest subnormal double
])
def test_quantize_multiplier_known_values(real: float, expected: tuple[int, int]) -> None:
    assert arith.quantize_multiplier(real) == expected


@pytest.mark.parametrize("real", [-1.0, -1e-300, math.inf, math.nan])
def test_quantize_multiplier_rejects_invalid(real: float) -> None:
    with pytest.raises(ValueError):
        arith.quantize_multiplier(real)


def test_quantize_multiplier_is_round_half_away_of_the_exact_value() -> None:
    """For random reals over 2^-45 .. 2^20 (all finite doubles, not just float32 ratios), checked
    with exact rational arithmetic: m in [2^30, 2^31) (or (0, 0) below 2^-32) and
    m = round_half_away(real * 2^(31 - shift)); with m in that range only one shift can fit."""
    rng = np.random.default_rng(3)
    reals = np.exp2(rng.uniform(-45, 20, 20_000))
    # Doubles right at a rounding tie of the Q31 fraction: (2k + 1) / 2^32 * 2^e.
    ties = (2 * rng.integers(2**30, 2**31, 2_000) + 1) * np.exp2(rng.integers(-40, 10, 2_000) - 32.0)
    for real in np.concatenate([reals, ties]).tolist():
        m, shift = arith.quantize_multiplier(real)
        exact = Fraction(real)
        if exact < Fraction(1, 2**32) * (1 - Fraction(1, 2**32)):  # below 2^-32 even after rounding
            assert (m, shift) == (0, 0), real
            continue
        assert 2**30 <= m < 2**31, real
        scaled = exact * Fraction(2) ** (31 - shift)
        floor = math.floor(scaled)
        rounded = floor + (1 if scaled - floor >= Fraction(1, 2) else 0)
        assert m == rounded, f"quantize_multiplier({real!r}) = ({m}, {shift}); exact Q31 value {float(scaled)}"
        assert abs(Fraction(m) - scaled) <= Fraction(1, 2), real
