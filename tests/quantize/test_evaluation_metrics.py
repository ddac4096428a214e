"""The metrics of `tinygen evaluate` against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.evaluation import auc, confusion, paired_difference, precision_recall, top_k


def test_auc_counts_ordered_pairs_and_half_ties() -> None:
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
    labels = np.array([0, 0, 1, 1, 1])
    # positive-negative pairs: (0.35 vs 0.1: win, vs 0.4: loss), (0.8: 2 wins), (0.4 vs 0.1 win, vs 0.4 tie)
    assert auc(scores, labels) == pytest.approx((1 + 0 + 2 + 1 + 0.5) / 6)
    assert auc(scores, np.zeros(5, np.int64)) is None


def test_paired_difference_interval() -> None:
    a = np.array([1, 1, 1, 0, 1, 1, 0, 1], bool)
    b = np.array([1, 0, 1, 0, 1, 1, 1, 0], bool)
    d = b.astype(float) - a.astype(float)
    mean, lo, hi = paired_difference(a, b)
    half = 1.959963984540054 * d.std(ddof=1) / np.sqrt(len(d))
    assert mean == pytest.approx(-0.125) and lo == pytest.approx(mean - half) and hi == pytest.approx(mean + half)


def test_confusion_precision_recall_top_k() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    matrix = confusion(labels, predicted, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    rows = precision_recall(matrix)
    assert rows[0]["precision"] == 0.5 and rows[0]["recall"] == 0.5
    assert rows[1]["precision"] == 0.5 and rows[1]["recall"] == 1.0
    assert rows[2]["precision"] == 1.0 and rows[2]["recall"] == pytest.approx(2 / 3)
    scores = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    assert top_k(scores, np.array([1, 1]), 2) == 1.0 and top_k(scores, np.array([2, 0]), 2) == 0.0
