"""The calibrators on synthetic data with known answers, and the streaming statistics against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.errors import DataError
from tinygen.quantize.calibrate import Calibrator
from tinygen.quantize.calibrate_stats import HISTOGRAM_BINS, TensorStats


def stats_of(values: np.ndarray, chunks: int = 7) -> TensorStats:
    """Two streaming passes over `values` in chunks, as calibration makes them."""
    stats = TensorStats()
    parts = np.array_split(values, chunks)
    for part in parts:
        stats.update(part[None, None])
    stats.start_histogram()
    for part in parts:
        stats.add_to_histogram(part[None, None])
    return stats


def test_streaming_statistics_equal_numpy() -> None:
    rng = np.random.default_rng(0)
    spread = np.array([1.0, 10.0, 0.1]).reshape(1, 3, 1, 1)
    batches = [(rng.normal(size=(1, 3, 5, 4)) * spread).astype(np.float32) for _ in range(9)]
    stats = TensorStats()
    for batch in batches:
        stats.update(batch, channels=True)
    everything = np.concatenate(batches)
    assert stats.low == float(everything.min()) and stats.high == float(everything.max())
    channels = stats.channel_summary()
    per = np.moveaxis(everything, 1, 0).reshape(3, -1).astype(np.float64)
    np.testing.assert_allclose([c["mean"] for c in channels], per.mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose([c["std"] for c in channels], per.std(axis=1), rtol=1e-6)
    np.testing.assert_allclose(stats.std, everything.astype(np.float64).std(), rtol=1e-6)


def test_histogram_counts_every_value_once() -> None:
    values = np.random.default_rng(1).normal(size=10_000)
    stats = stats_of(values)
    assert stats.histogram is not None and stats.histogram.sum() == values.size
    assert len(stats.histogram) == HISTOGRAM_BINS


def test_minmax_is_the_observed_range() -> None:
    values = np.random.default_rng(2).normal(size=5_000)
    assert Calibrator.parse("minmax").range_of(stats_of(values)) == (float(values.min()), float(values.max()))


def test_percentile_of_a_uniform_distribution() -> None:
    values = np.linspace(0.0, 1.0, 100_001)
    low, high = Calibrator.parse("percentile:99").range_of(stats_of(values))
    width = 2.0 / HISTOGRAM_BINS  # one bin over [-1, 1]
    assert abs(high - 0.99) < width and abs(low - 0.01) < width
    low, high = Calibrator.parse("percentile:99").range_of(stats_of(values - 0.5))
    assert abs(high - 0.49) < width and abs(low + 0.49) < width


def test_percentile_100_is_minmax() -> None:
    values = np.random.default_rng(3).normal(size=1_000)
    assert Calibrator.parse("percentile:100").range_of(stats_of(values)) == (values.min(), values.max())


def test_mse_clips_the_tails_of_a_gaussian_but_not_a_uniform_range() -> None:
    uniform = np.linspace(0.0, 1.0, 50_001)
    low, high = Calibrator.parse("mse").range_of(stats_of(uniform))
    assert low == 0.0 and high > 0.98  # clipping a uniform distribution costs more than it saves
    gaussian = np.random.default_rng(5).normal(size=200_000)
    low, high = Calibrator.parse("mse").range_of(stats_of(gaussian))
    # 8-bit clipping of a unit Gaussian is best near 4 sigma (Banner et al., ACIQ), inside the ~4.5 sigma seen
    assert 3.0 < high < float(gaussian.max()) and float(gaussian.min()) < low < -3.0
    # a far value costs its squared distance: one value at 100 beside 50,000 in [0, 1] is kept
    low, high = Calibrator.parse("mse").range_of(stats_of(np.append(uniform, 100.0)))
    assert high > 50.0


def test_entropy_threshold_near_the_bulk() -> None:
    uniform = np.linspace(0.0, 1.0, 50_001)
    with_outlier = np.append(uniform, 100.0)
    low, high = Calibrator.parse("entropy").range_of(stats_of(with_outlier))
    # the bulk ends at 1.0 = 21 bins of 100/2048; the smallest threshold tried is 256 bins = 12.5
    assert low == 0.0 and high == pytest.approx(256 * 100.0 / (HISTOGRAM_BINS // 2))
    # signed: an outlier at -100 beside 50,000 values in [-1, 1] is clipped, the other end is kept
    signed = np.append(np.linspace(-1.0, 1.0, 50_001), -100.0)
    low, high = Calibrator.parse("entropy").range_of(stats_of(signed))
    assert -60.0 < low < -1.0 and high == 1.0


def test_constant_tensor() -> None:
    for method in ("minmax", "percentile:99.9", "mse", "entropy"):
        assert Calibrator.parse(method).range_of(stats_of(np.zeros(100))) == (0.0, 0.0)


@pytest.mark.parametrize("text", ["percentile:30", "percentile:x", "kl", "percentile"])
def test_bad_methods_are_refused(text: str) -> None:
    with pytest.raises(DataError, match=r"percentile|unknown calibration method"):
        Calibrator.parse(text)
