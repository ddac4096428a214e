"""Patch-based execution (MCUNetV2): which first layers to run in row bands, and into how many, so
that their large feature maps never exist whole (the rewrite itself: passes/split_bands.py).

Halo rows are computed once per band that needs them: the extra MACs patch-based execution costs,
which the report shows. Chosen by the planning driver (plan/driver.py) when not even the smallest
kernel variants fit a RAM budget, or forced (`--patches BANDS`): the stage length and band count with
the fewest estimated extra cycles (plan/costs.py: the halo rows' MACs, and each band's per-call costs,
which extra MACs alone miss) whose arena fits.
"""

from __future__ import annotations

from ..ir import Graph
from ..passes.split_bands import split_stage, stage_candidates
from .costs import graph_cycles

BAND_COUNTS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48)


def patch_plans(graph: Graph) -> list[dict]:
    """The patched stages of a graph (as PatchPlan.to_json), in order."""
    return [node.attrs["patches"] for node in graph.nodes if node.op == "row_concat" and "patches" in node.attrs]


def candidates(graph: Graph, bands: int | None = None, layers: int | None = None) -> list[tuple[int, int]]:
    """(stage length, band count) pairs to try, fewest estimated extra cycles first (then fewest extra MACs:
    the halo rows), each layer in the kernel variant it has now."""
    stages = stage_candidates(graph)
    unpatched = graph_cycles(graph)
    result = []
    for stage in stages:
        if layers is not None and len(stage) != layers:
            continue
        height = graph.tensors[stage[-1].outputs[0]].shape[1]
        for count in ([bands] if bands is not None else BAND_COUNTS):
            if 2 <= count <= height:
                trial = graph.copy()
                plan = split_stage(trial, stage_candidates(trial)[len(stage) - 1], count)
                result.append((round(graph_cycles(trial) - unpatched), plan.extra_macs, len(stage), count))
    return [(length, count) for _, _, length, count in sorted(result)]
