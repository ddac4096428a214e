"""The compiler's cycle cost model: estimated Cortex-M4 cycles of a layer in a given kernel variant.

The planner's speed decisions -- which kernel variant a layer runs when RAM allows a choice
(plan/variants.py) and which row-band split runs the first layers in patches (plan/patches.py) --
rank by these estimates, not by instruction counts: tinygen's kernels lean on multi-word loads, so
fewer instructions can be more cycles (the AD autoencoder's widened-input fully connected layers:
6 % fewer instructions, 2 % more cycles than the direct ones).

Each C kernel function has a linear formula over a few features of the layer (FEATURES):

    cycles = a * calls + b * macs + c * outputs + d * inputs + e * taps + f * channel_blocks + g * block_weights
             + cpi * mode_cost

calls is 1 per layer (the call and per-layer set-up), macs the layer's multiply-accumulates, outputs
and inputs its activation elements written and read, taps the multiply-accumulates per output
channel (the window values a convolution widens to 16 bits, per pixel), channel_blocks the
per-output-channel passes of the pixel-block kernels (C_out x ceil(pixels / block), block 8 or 4 by
the variant's mode: the bookkeeping that 4-pixel blocks pay twice as often), block_weights those passes
times the weights of a channel (each pass reads its channel's weights again), mode_cost the kernel table's
estimated instructions of a mode the other features do not tell apart (not a pixel-block mode:
tg_depthwise_conv_3x3_s8's row order of a tall output, which pays each row's fixed costs more often), its
coefficient fixed at the measured cycles per instruction (cpi), not fitted. MACs, taps and channel
passes count live output channels only (live_fraction: dead channels, all-zero weights, cost the
kernels next to nothing). The coefficients are fitted, non-negative, to estimated cycles measured per
layer on the MLPerf Tiny models under QEMU (tinygen/platformio/cycles.py: Cortex-M4 TRM timings, zero
wait states) by `bench/fit_cycle_model.py`, which writes them to cycle_model.json beside this module;
re-run it when kernels change. A kernel the data does not cover gets the pooled formula of all layers
plus its table cost (estimated extra instructions) times the measured cycles per instruction.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..ir import Graph, Node, kernel_dims
from ..ops import Kernel, op_of
from ..ops.base import zero_filters

MODEL_FILE = Path(__file__).with_name("cycle_model.json")
FEATURES = ("calls", "macs", "outputs", "inputs", "taps", "channel_blocks", "block_weights", "mode_cost")


@functools.lru_cache(maxsize=1)
def cycle_model() -> dict[str, Any]:
    """The fitted coefficients (cycle_model.json, written by bench/fit_cycle_model.py)."""
    return dict(json.loads(MODEL_FILE.read_text()))


def block_pixels(kernel: Kernel) -> int:
    """Output pixels per block of a pixel-block variant ("8px" -> 8); 0 for other kernels."""
    return int(kernel.mode[:-2]) if kernel.mode.endswith("px") and kernel.mode[:-2].isdigit() else 0


def live_fraction(node: Node, graph: Graph) -> float:
    """The share of output channels whose weights are not all zero: the kernels skip the others' MACs and
    bookkeeping (a dead channel outputs its constant, computed once per layer; VWW has 971 of 2,738)."""
    op = op_of(node)
    axis = op.weight_channel_axis
    weights = graph.tensors[node.inputs[1]].data if op.has_weights and len(node.inputs) > 1 else None
    if axis is None or weights is None or weights.ndim <= axis or not weights.size:
        return 1.0
    return 1.0 - float(zero_filters(weights, axis).mean())


def facts(node: Node, graph: Graph, kernel: Kernel) -> dict[str, float]:
    """What the features are computed from (bench/fit_cycle_model.py records these, so a changed feature
    definition can be refitted without measuring again)."""
    _, height, width, channels = kernel_dims(graph.tensors[node.outputs[0]].shape)
    block = block_pixels(kernel)
    return {"macs": op_of(node).macs(node, graph), "live": live_fraction(node, graph),
            "outputs": sum(graph.tensors[name].size for name in node.outputs),
            "inputs": sum(graph.tensors[name].size for name in node.inputs
                          if name in graph.tensors and graph.tensors[name].data is None),
            "channels": channels, "pixels": height * width, "block": block,
            "mode_cost": kernel.cost(node, graph) if kernel.mode and not block else 0}


def features_of(known: dict[str, float]) -> dict[str, int]:
    """The features (FEATURES) from a layer's facts: MACs, taps and channel passes of live channels only."""
    live_channels = max(round(known["channels"] * known["live"]), 1)
    macs = round(known["macs"] * known["live"])
    block = int(known["block"])
    passes = live_channels * math.ceil(known["pixels"] / block) if block else 0
    return {"calls": 1, "macs": macs, "outputs": int(known["outputs"]), "inputs": int(known["inputs"]),
            "taps": round(macs / live_channels), "channel_blocks": passes,
            "block_weights": passes * round(macs / (live_channels * max(int(known["pixels"]), 1))),
            "mode_cost": int(known.get("mode_cost", 0))}


def features(node: Node, graph: Graph, kernel: Kernel) -> dict[str, int]:
    """The layer's features (FEATURES) when it runs `kernel`."""
    return features_of(facts(node, graph, kernel))


def _formula(terms: dict[str, float], values: dict[str, int]) -> float:
    return sum(coefficient * values[name] for name, coefficient in terms.items())


WIDE_SAVING = 2 / 16  # estimated cycles per MAC that pre-widened weights save (19 -> 17 per 16: plan/wide.py)


def wide_saving(node: Node, graph: Graph) -> float:
    """Estimated cycles pre-widened weights (node.attrs["wide"], plan/wide.py) save the layer: WIDE_SAVING
    per MAC, and 1 per output (no doubling in the requantization), of its output channels that the
    assembly runs (live ones with a shift in the short form's [-23, -1]; the caller checks the layer's
    accumulator bound and clamp)."""
    weights = graph.tensors[node.inputs[1]].data
    shifts = np.atleast_1d(np.asarray(node.params.get("shift", []), np.int64))
    if weights is None or not len(shifts):
        return 0.0
    live = weights.reshape(weights.shape[0], -1).any(axis=1)
    short = np.broadcast_to((shifts <= -1) & (shifts >= -23), live.shape)  # per channel or per tensor
    taken = live & short
    outputs = graph.tensors[node.outputs[0]].size
    return (WIDE_SAVING * op_of(node).macs(node, graph) + outputs) * float(taken.mean())


def layer_cycles(node: Node, graph: Graph, kernel: Kernel | None) -> float:
    """Estimated Cortex-M4 cycles of the layer in `kernel` (0 for a layer without code), less what
    pre-widened weights save when the layer has them."""
    if kernel is None:
        return 0.0
    model = cycle_model()
    values = features(node, graph, kernel)
    fitted = model["kernels"].get(kernel.function)
    saved = wide_saving(node, graph) if node.attrs.get("wide") else 0.0
    if fitted is not None:  # (a mode the other features do not tell apart: its table cost, mode_cost)
        return _formula(fitted["coefficients"], values) - saved
    return (_formula(model["default"]["coefficients"], values)
            + model["cycles_per_instruction"] * kernel.cost(node, graph)) - saved


MIN_LAYERS = 4  # a kernel's formula ranks it against others only when fitted on at least this many layers


def comparable(kernels: list[Kernel]) -> bool:
    """Can the fitted formulas rank these kernels? Only when each was measured on MIN_LAYERS layers or more: a
    formula fitted on fewer extrapolates to other shapes unchecked (the MLPerf models run
    tg_fully_connected_fast_s8 on one layer only). Otherwise the kernel table's order and its estimated
    instructions rank them, as before the cost model."""
    fitted = cycle_model()["kernels"]
    return all(fitted.get(k.function, {}).get("layers", 0) >= MIN_LAYERS for k in kernels)


def extra_cycles(node: Node, graph: Graph, kernel: Kernel, fastest: Kernel) -> float:
    """Estimated cycles `kernel` costs beyond `fastest` on this layer: from the fitted formulas when they can
    rank the two, else the table's extra instructions times the measured cycles per instruction."""
    if comparable([kernel, fastest]):
        return layer_cycles(node, graph, kernel) - layer_cycles(node, graph, fastest)
    return float(cycle_model()["cycles_per_instruction"] * (kernel.cost(node, graph) - fastest.cost(node, graph)))


def node_cycles(node: Node, graph: Graph) -> float:
    """Estimated cycles of the layer in the kernel it runs now (node.attrs["variant"])."""
    return layer_cycles(node, graph, op_of(node).kernel(node, graph))


def graph_cycles(graph: Graph) -> float:
    """Estimated cycles of one inference: the sum over the layers."""
    return sum(node_cycles(node, graph) for node in graph.nodes)
