"""Plan the arena: run the placement algorithms, keep the smallest, check the result."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from .algorithms import ALGORITHMS, arena_size
from .liveness import Buffer, analyze, live_bytes_per_step, lower_bound

ARENA_ALIGNMENT = 8


@dataclass
class MemoryPlan:
    arena_size: int
    lower_bound: int  # largest live set of this schedule: no placement can do better
    algorithm: str
    buffers: list[Buffer]
    offsets: dict[str, int]  # buffer -> offset
    storage_of: dict[str, str]  # tensor -> buffer
    scratch_of: dict[int, str]  # node index -> scratch buffer

    def tensor_offset(self, tensor: str) -> int:
        return self.offsets[self.storage_of[tensor]]

    def scratch(self, step: int) -> tuple[int, int] | None:
        """(offset, size) of node `step`'s scratch, if it has any."""
        name = self.scratch_of.get(step)
        if name is None:
            return None
        size = next(b.size for b in self.buffers if b.name == name)
        return self.offsets[name], size

    def live_per_step(self) -> dict[int, int]:
        return live_bytes_per_step(self.buffers)


def plan_memory(graph: Graph, algorithms: list[str] | None = None) -> MemoryPlan:
    liveness = analyze(graph)
    buffers = liveness.buffers
    best: tuple[int, str, dict[str, int]] | None = None
    for name in algorithms or sorted(ALGORITHMS):
        placement = ALGORITHMS[name](buffers)
        check_placement(buffers, placement)
        size = arena_size(buffers, placement)
        if best is None or size < best[0]:
            best = (size, name, placement)
    assert best is not None
    size, name, placement = best
    padded = (size + ARENA_ALIGNMENT - 1) // ARENA_ALIGNMENT * ARENA_ALIGNMENT
    return MemoryPlan(padded, lower_bound(buffers), name, buffers, placement, liveness.storage_of,
                      liveness.scratch_of)


def check_placement(buffers: list[Buffer], placement: dict[str, int]) -> None:
    """Every buffer placed, aligned, and no two buffers live at the same time share a byte."""
    for buffer in buffers:
        offset = placement[buffer.name]
        assert offset >= 0 and offset % buffer.alignment == 0, f"{buffer.name} misplaced at {offset}"
    ordered = sorted(buffers, key=lambda b: placement[b.name])
    for i, a in enumerate(ordered):
        a_end = placement[a.name] + a.size
        for b in ordered[i + 1:]:
            if placement[b.name] >= a_end:
                break
            if a.overlaps_in_time(b) and a.size and b.size:
                raise AssertionError(f"buffers {a.name} and {b.name} overlap in space and time")
