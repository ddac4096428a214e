"""Which convolutions get pre-widened weights in flash (tg_conv_params.wide), within a flash allowance.

The DSP convolutions' inner loop widens each group of 4 int8 weights with 4 SXTB16 per 16 MACs (19
estimated cycles); with the weights stored again as int16 lane pairs in SMLAD order it loads them as
words instead (17 cycles: tg_conv_block_s8.c), and stored doubled they spare the requantization its
doubling. That saves about 2 cycles per 16 MACs of the layer's assembly runs and 1 per output
(plan/costs.py's wide_saving), and costs 2 bytes per weight (wide_bytes; the int8 weights stay:
everything else reads them). The bytes buy the most cycles in layers with many output pixels per
weight (cycles saved per byte ~ pixels / 16). The layers chosen are those with the largest total
saving whose bytes fit the allowance (an exact knapsack: a few dozen layers, bytes in units of 16).

The allowance defaults to DEFAULT_SHARE of the model's stored weight bytes, and at least DEFAULT_FLOOR
(MLPerf KWS: 22,016 B of int8 weights, a quarter 5,504 B, so 32 KiB; IC 77,360 B, VWW 55,472 B: 32 KiB
too). Why a floor: a Cortex-M4/M7/M33 part (the cores with the DSP kernels) has 128 KB of flash or more,
and the small models gain the most per byte (KWS's 1x1 layers: about 67,000 estimated cycles, 1.4 %, per
8 KiB); with it the four MLPerf firmwares stay well under TFLM's flash (bench/mlperf_speed.py ANCHOR).
`wide_flash` (the compile option --wide-flash, bytes) overrides it, 0 turns it off. A layer whose
node.attrs already says "wide" (True or False) keeps it (tests force it).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ops import op_of
from ..ops.base import layer_weights
from ..ops.conv import wide_bytes
from .costs import wide_saving

DEFAULT_SHARE = 0.25  # the widened weights may add this share of the model's weight bytes,
DEFAULT_FLOOR = 32 * 1024  # and at least this many bytes
# the kernels whose output stage (tg_conv_block_range_s8) reads tg_conv_params.wide
WIDE_KERNELS = ("tg_conv_1x1_s8", "tg_conv_im2col_s8", "tg_conv_1x1_add_s8", "tg_conv_im2col_add_s8",
                "tg_conv_1x1_add_rows_s8", "tg_conv_im2col_add_rows_s8")


def takes_wide(node: Node, graph: Graph) -> bool:
    """Can the layer use pre-widened weights? int8 DSP block kernels with the short requantization (the
    assembly runs: accumulators below 2^29, the full int8 clamp)."""
    if node.op != "conv2d" or not node.params or node.params.get("s16") or layer_weights(node) != "int8":
        return False
    kernel = op_of(node).kernel(node, graph)
    if kernel is None or kernel.function not in WIDE_KERNELS:
        return False
    params = node.params
    return (params["act_min"] <= -128 and params["act_max"] >= 127
            and op_of(node)._accumulator_bits(node, graph) <= 29  # type: ignore[attr-defined]
            and wide_saving(node, graph) > 0)


def weight_bytes(graph: Graph) -> int:
    """The model's weight bytes as stored: the int8 weights of the layers with weights, a standard
    convolution's live rows only (its dead ones, all zero, are not stored: Conv2D.weight_fields)."""
    total = 0
    for node in graph.nodes:
        op = op_of(node)
        data = graph.tensors[node.inputs[1]].data if op.has_weights and len(node.inputs) > 1 else None
        if data is None:
            continue
        if node.op == "conv2d" and data.size:
            rows = data.reshape(data.shape[0], -1)
            total += int(rows.any(axis=1).sum()) * rows.shape[1] * data.itemsize
        else:
            total += int(data.nbytes)
    return total


UNIT = 16  # wide_bytes is a multiple of 16 (8 bytes per channel and group, channels in pairs)


def most_saved(savings: list[float], costs: list[int], budget: int) -> list[int]:
    """The subset of items (indices) with the largest total saving whose costs fit `budget`: the 0/1
    knapsack, exact, over the costs in UNITs (ratio-greedy is not: IC's 1 KB 1x1 layer would keep out a
    9 KB 3x3 one saving six times as much)."""
    units = max(budget, 0) // UNIT
    best = np.zeros(units + 1)  # best[u]: the largest saving within u units, over the items so far
    taken = np.zeros((len(savings), units + 1), bool)
    for i, (saving, cost) in enumerate(zip(savings, costs, strict=True)):
        size = -(-cost // UNIT)
        if size > units:
            continue
        with_item = best[:units + 1 - size] + saving
        better = with_item > best[size:]
        taken[i, size:] = better
        best[size:] = np.where(better, with_item, best[size:])
    chosen, u = [], units
    for i in range(len(savings) - 1, -1, -1):
        if taken[i, u]:
            chosen.append(i)
            u -= -(-costs[i] // UNIT)
    return sorted(chosen)


def choose_wide(graph: Graph, wide_flash: int | None = None) -> list[str]:
    """Mark the layers that get pre-widened weights (node.attrs["wide"] = True): the most estimated cycles
    saved within `wide_flash` bytes (None: DEFAULT_SHARE of the weight bytes, at least DEFAULT_FLOOR).
    Returns their names."""
    allowance = max(int(DEFAULT_SHARE * weight_bytes(graph)), DEFAULT_FLOOR) if wide_flash is None else wide_flash
    forced = sum(wide_bytes(node, graph) for node in graph.nodes if node.attrs.get("wide"))
    candidates = [node for node in graph.nodes if "wide" not in node.attrs and takes_wide(node, graph)]
    picked = most_saved([wide_saving(node, graph) for node in candidates],
                        [wide_bytes(node, graph) for node in candidates], allowance - forced)
    for i in picked:
        candidates[i].attrs["wide"] = True
    return [candidates[i].name for i in picked]


def wide_summary(graph: Graph) -> dict[str, object]:
    """The compile summary's record: the layers with pre-widened weights, their flash bytes and the
    estimated cycles they save (plan/costs.py)."""
    nodes = [node for node in graph.nodes if node.attrs.get("wide")]
    return {"layers": [node.name for node in nodes], "bytes": sum(wide_bytes(node, graph) for node in nodes),
            "cycles": round(sum(wide_saving(node, graph) for node in nodes))}
