"""Streaming statistics of a tensor over calibration samples, and the calibrators that turn them
into a clipping range.

Memory does not grow with the number of samples: each tensor keeps a running min/max, running sums
per channel, and (for the histogram calibrators) one histogram of HISTOGRAM_BINS counts over the
symmetric range [-M, M], M = max |x| from a first pass. Zero sits on a bin edge, so folding the two
halves gives the histogram of |x| that the entropy calibrator needs.

Calibrators (each returns (low, high) within the observed [min, max]):
  minmax          the smallest and largest value seen;
  percentile:p    the (100 - p)-th and p-th percentiles, linear within a bin;
  mse             the range with the least expected squared error: a rounding error of step^2/12
                  inside the range plus the squared clipping distance outside it, summed over the
                  histogram (each end shrunk on a grid, one at a time);
  entropy         TensorRT's method: for a non-negative tensor the threshold T whose 256-level
                  histogram over [0, T] is closest in KL divergence to the clipped original; for a
                  signed tensor the same divergence with 255 levels over a range whose ends are
                  searched like mse's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HISTOGRAM_BINS = 4096  # over [-M, M]: 2,048 bins per sign
ENTROPY_STRIDE = 4  # thresholds tried every this many |x| bins
MSE_STEPS = 200  # shrink factors tried by the mse calibrator


@dataclass
class TensorStats:
    """Running statistics of one tensor. Values arrive as (1, C, ...) or (1, C) arrays in the
    source model's layout; channel statistics are along axis 1."""

    low: float = float("inf")
    high: float = float("-inf")
    count: int = 0
    total: float = 0.0
    squares: float = 0.0
    channel_count: int = 0
    channel_low: np.ndarray | None = None
    channel_high: np.ndarray | None = None
    channel_total: np.ndarray | None = None
    channel_squares: np.ndarray | None = None
    histogram: np.ndarray | None = None
    bound: float = 0.0  # the histogram covers [-bound, bound]
    channel_divisor: np.ndarray | None = field(default=None)  # cross-layer equalization scales

    def update(self, values: np.ndarray, channels: bool = False) -> None:
        values = self._equalized(values)
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        if channels and values.ndim >= 2:
            per = np.moveaxis(values, 1, 0).reshape(values.shape[1], -1).astype(np.float64)
            if self.channel_low is None:
                self.channel_low, self.channel_high = per.min(axis=1), per.max(axis=1)
                self.channel_total, self.channel_squares = per.sum(axis=1), (per * per).sum(axis=1)
            elif per.shape[0] == self.channel_low.shape[0]:
                assert self.channel_high is not None and self.channel_total is not None
                assert self.channel_squares is not None
                self.channel_low = np.minimum(self.channel_low, per.min(axis=1))
                self.channel_high = np.maximum(self.channel_high, per.max(axis=1))
                self.channel_total += per.sum(axis=1)
                self.channel_squares += (per * per).sum(axis=1)
            self.channel_count += per.shape[1]
        flat = values.astype(np.float64).ravel()
        self.count += flat.size
        self.total += float(flat.sum())
        self.squares += float(np.dot(flat, flat))

    def _equalized(self, values: np.ndarray) -> np.ndarray:
        if self.channel_divisor is None:
            return values
        shape = [1] * values.ndim
        shape[1] = -1
        return (values / self.channel_divisor.reshape(shape)).astype(np.float32)

    def start_histogram(self) -> None:
        self.bound = max(abs(self.low), abs(self.high))
        self.histogram = np.zeros(HISTOGRAM_BINS, np.int64)

    def add_to_histogram(self, values: np.ndarray) -> None:
        assert self.histogram is not None
        if self.bound == 0.0:
            self.histogram[HISTOGRAM_BINS // 2] += values.size
            return
        values = self._equalized(values).astype(np.float64).ravel()
        index = np.floor((values + self.bound) * (HISTOGRAM_BINS / (2 * self.bound))).astype(np.int64)
        self.histogram += np.bincount(np.clip(index, 0, HISTOGRAM_BINS - 1), minlength=HISTOGRAM_BINS)

    @property
    def mean(self) -> float:
        return self.total / max(1, self.count)

    @property
    def std(self) -> float:
        return float(np.sqrt(max(0.0, self.squares / max(1, self.count) - self.mean ** 2)))

    def channel_summary(self) -> list[dict[str, float]]:
        if self.channel_low is None or self.channel_count == 0:
            return []
        assert self.channel_high is not None and self.channel_total is not None and self.channel_squares is not None
        n = self.channel_count  # values per channel
        mean = self.channel_total / n
        std = np.sqrt(np.maximum(0.0, self.channel_squares / n - mean * mean))
        return [{"min": float(lo), "max": float(hi), "mean": float(m), "std": float(s)}
                for lo, hi, m, s in zip(self.channel_low, self.channel_high, mean, std, strict=True)]

    def summary(self) -> dict[str, Any]:
        return {"min": self.low, "max": self.high, "mean": self.mean, "std": self.std}


# --- calibrators on a histogram ------------------------------------------------------------------

def bin_edges(bound: float, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    return np.linspace(-bound, bound, bins + 1)


def percentile_range(histogram: np.ndarray, bound: float, low: float, high: float,
                     p: float) -> tuple[float, float]:
    """The (100 - p)-th and p-th percentiles of the values a histogram over [-bound, bound] counts."""
    if p >= 100.0 or bound == 0.0:
        return low, high
    edges = bin_edges(bound, len(histogram))
    cumulative = np.concatenate([[0], np.cumsum(histogram)]).astype(np.float64)
    total = cumulative[-1]

    def quantile(fraction: float) -> float:
        target = fraction * total
        k = int(np.searchsorted(cumulative, target, side="left"))
        k = min(max(k, 1), len(histogram))
        inside = histogram[k - 1]
        part = 0.0 if inside == 0 else (target - cumulative[k - 1]) / inside
        return float(edges[k - 1] + part * (edges[k] - edges[k - 1]))

    return max(low, quantile(1.0 - p / 100.0)), min(high, quantile(p / 100.0))


def mse_range(histogram: np.ndarray, bound: float, low: float, high: float) -> tuple[float, float]:
    """The range with the least expected squared error per value: a rounding error of step^2/12
    inside it, the squared clipping distance outside."""
    if bound == 0.0 or low == high:
        return low, high
    edges = bin_edges(bound, len(histogram))
    centers = 0.5 * (edges[:-1] + edges[1:])
    used = histogram > 0
    counts, centers = histogram[used].astype(np.float64), centers[used]

    def cost(lo: float, hi: float) -> float:
        step = (hi - lo) / 255.0
        clipped = np.clip(centers, lo, hi)
        return float(np.dot(counts, (centers - clipped) ** 2 + step * step / 12.0))

    return _search(cost, low, high)


def _search(cost: Callable[[float, float], float], low: float, high: float) -> tuple[float, float]:
    """Each end of [min(low, 0), max(high, 0)] shrunk by a factor in (0, 1] on a grid, one end at a
    time with the other fixed, twice (the ends of an asymmetric range clip independently: an
    outlier on one side must not clip the other)."""
    lo_end, hi_end = min(low, 0.0), max(high, 0.0)  # the int8 range always holds 0
    lo, hi = lo_end, hi_end
    grid = np.linspace(1.0, 1.0 / MSE_STEPS, MSE_STEPS)
    for _ in range(2):
        if lo_end < 0.0:
            costs = [cost(a * lo_end, hi) for a in grid]
            lo = float(grid[int(np.argmin(costs))] * lo_end)
        if hi_end > 0.0:
            costs = [cost(lo, a * hi_end) for a in grid]
            hi = float(grid[int(np.argmin(costs))] * hi_end)
    return max(low, lo), min(high, hi)


def entropy_range(histogram: np.ndarray, bound: float, low: float, high: float) -> tuple[float, float]:
    """TensorRT's KL-divergence threshold: on the histogram of |x| for a non-negative tensor (256
    levels over [0, T]); for a signed tensor, whose zero point tinygen places freely, on the signed
    histogram over the shrunk ranges (a*min, a*max) with 255 levels (folding the signs would make
    a spike on one side, say an image's background, decide the clipping of the other)."""
    if bound == 0.0 or low == high:
        return low, high
    half = len(histogram) // 2
    if low >= 0.0:
        magnitude = histogram[half:] + histogram[:half][::-1]  # |x| histogram over [0, bound]
        # A ReLU output's zeros (often most values) are exact in any range: as a spike in the first
        # bin they would dominate the divergence and pull the threshold far into the values that
        # matter, so that bin counts like its neighbour.
        magnitude = magnitude.copy()
        magnitude[0] = magnitude[1]
        best, best_divergence = half, float("inf")
        for i in range(256, half + 1, ENTROPY_STRIDE):
            divergence = _kl_after_quantization(magnitude, i, 256)
            if divergence < best_divergence:
                best, best_divergence = i, divergence
        return max(low, -best * bound / half), min(high, best * bound / half)
    width = 2 * bound / len(histogram)

    def cost(lo: float, hi: float) -> float:
        start = max(0, int(np.floor((lo + bound) / width)))
        stop = min(len(histogram), int(np.ceil((hi + bound) / width)))
        if stop - start < 255:
            return float("inf")
        window = histogram[start:stop].astype(np.float64)
        window[0] += float(histogram[:start].sum())  # outliers clipped into the edge bins
        window[-1] += float(histogram[stop:].sum())
        return _kl_after_quantization(histogram[start:stop], stop - start, 255, clipped=window)

    return _search(cost, low, high)


def _kl_after_quantization(magnitude: np.ndarray, i: int, levels: int, clipped: np.ndarray | None = None) -> float:
    """KL(P || Q): P the first i bins with what lies beyond folded into the last (or `clipped`, a
    window already folded), Q the same bins quantized to `levels` levels and spread back evenly over
    each level's non-empty bins."""
    if clipped is None:
        reference = magnitude[:i].astype(np.float64)
        reference[i - 1] += float(magnitude[i:].sum())  # outliers clipped into the last bin
    else:
        reference = clipped
    if reference.sum() == 0:
        return float("inf")
    nonzero = magnitude[:i] != 0
    starts = (np.arange(levels) * i) // levels
    sums = np.add.reduceat(magnitude[:i].astype(np.float64), starts)
    counts = np.add.reduceat(nonzero.astype(np.float64), starts)
    group = np.repeat(np.arange(levels), np.diff(np.append(starts, i)))
    expanded = np.where(nonzero, sums[group] / np.maximum(counts[group], 1.0), 0.0)
    p = reference / reference.sum()
    q_total = expanded.sum()
    if q_total == 0:
        return float("inf")
    q = expanded / q_total
    mask = p > 0
    q_safe = np.where(q[mask] > 0, q[mask], 1e-12)  # a clipped-in outlier bin with no quantized mass
    return float(np.sum(p[mask] * np.log(p[mask] / q_safe)))
