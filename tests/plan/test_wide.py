"""plan/wide.py: which convolutions get pre-widened weights within the flash allowance (the kernels'
bit-exactness with them: tests/dsp, case conv_wide)."""

from __future__ import annotations

import numpy as np

from tinygen.ops.conv import wide_bytes, wide_weights
from tinygen.plan.costs import wide_saving
from tinygen.plan.wide import choose_wide, most_saved, takes_wide, weight_bytes

from ..dsp.cases import CASES


def test_most_saved_is_the_exact_knapsack() -> None:
    # MLPerf IC's estimates at the default allowance: ratio-greedy would take the 1 KB layer (3) and then
    # have no room for the 9 KB one (4), which saves six times as much.
    savings = [71680, 311296, 311296, 24576, 155648, 303104, 20480]
    costs = [896, 4608, 4608, 1024, 9216, 18432, 4096]
    assert most_saved(savings, costs, 19340) == [0, 1, 2, 4]
    assert most_saved(savings, costs, 0) == []
    assert most_saved(savings, costs, -16) == []
    assert most_saved(savings, costs, sum(costs)) == list(range(len(costs)))
    assert most_saved([5.0, 4.0, 3.0], [16, 16, 32], 32) == [0, 1]
    assert most_saved([1.0], [17], 16) == []  # 17 bytes take 2 units


def test_wide_weights_layout() -> None:
    """Per channel pair and group of 4 taps: c's (2 w0, 2 w2), (2 w1, 2 w3), then c + 1's; zero padding."""
    w = np.arange(1, 3 * 5 + 1, dtype=np.int8).reshape(3, 1, 1, 5)  # 3 channels (odd), 5 taps (2 groups)
    words = wide_weights(w)
    lanes = words.view("<i2").reshape(2, 2, 2, 2, 2)  # [pair, group, channel, even/odd, lane]
    assert lanes[0, 0, 0].tolist() == [[2, 6], [4, 8]]
    assert lanes[0, 0, 1].tolist() == [[12, 16], [14, 18]]
    assert lanes[0, 1, 0].tolist() == [[10, 0], [0, 0]]
    assert lanes[1, 0, 0].tolist() == [[22, 26], [24, 28]]
    assert not lanes[1, :, 1].any()  # the missing channel
    assert words.nbytes == 2 * 4 * 4 * 2


def test_choose_wide_within_the_allowance() -> None:
    graph = CASES["conv"](1).graph
    eligible = [node for node in graph.nodes if takes_wide(node, graph)]
    assert eligible and len(eligible) < len(graph.nodes)  # general requantization, narrow clamps, grouped: not
    assert choose_wide(graph, 0) == []
    assert not any(node.attrs.get("wide") for node in graph.nodes)
    allowance = sum(wide_bytes(node, graph) for node in eligible) // 2
    chosen = choose_wide(graph, allowance)
    assert chosen and sum(wide_bytes(node, graph) for node in graph.nodes if node.attrs.get("wide")) <= allowance
    assert all(wide_saving(node, graph) > 0 for node in graph.nodes if node.attrs.get("wide"))
    # what is marked stays; a second pass with room for everything adds the rest
    assert set(choose_wide(graph, 10**7)) == {node.name for node in eligible} - set(chosen)
    assert weight_bytes(graph) > 0
