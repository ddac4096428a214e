"""Placement algorithms: buffers with lifetimes in, byte offsets out.

Every algorithm has the same signature, (buffers) -> {buffer name: offset}, and is listed in
ALGORITHMS by name; planner.py runs the ones asked for and keeps the smallest arena.
"""

from __future__ import annotations

from collections.abc import Callable

from .liveness import Buffer

Placement = dict[str, int]
Algorithm = Callable[[list[Buffer]], Placement]


def _align(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


def _first_fit(buffer: Buffer, placed: list[tuple[Buffer, int]]) -> int:
    """Lowest aligned offset where `buffer` overlaps no placed buffer that is live at the same time."""
    conflicts = sorted((offset, offset + other.size) for other, offset in placed
                       if other.overlaps_in_time(buffer))
    candidate = 0
    for start, end in conflicts:
        if candidate + buffer.size <= start:
            break
        candidate = max(candidate, _align(end, buffer.alignment))
    return candidate


def greedy_by_size(buffers: list[Buffer]) -> Placement:
    """Largest buffers first, each at the lowest offset that fits (TFLM's GreedyMemoryPlanner)."""
    order = sorted(buffers, key=lambda b: (-b.size, b.first, b.name))
    placed: list[tuple[Buffer, int]] = []
    for buffer in order:
        placed.append((buffer, _first_fit(buffer, placed)))
    return {buffer.name: offset for buffer, offset in placed}


ALGORITHMS: dict[str, Algorithm] = {
    "greedy_by_size": greedy_by_size,
}


def arena_size(buffers: list[Buffer], placement: Placement) -> int:
    return max((placement[b.name] + b.size for b in buffers), default=0)
