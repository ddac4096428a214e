"""Remove nodes none of whose outputs are used (by another node or as a graph output)."""

from __future__ import annotations

from ..ir import Graph


def run(graph: Graph) -> int:
    removed = 0
    while True:
        used = set(graph.outputs)
        for node in graph.nodes:
            used.update(node.inputs)
        dead = [node for node in graph.nodes if not any(out in used for out in node.outputs)]
        if not dead:
            return removed
        for node in dead:
            graph.remove_node(node)
        removed += len(dead)
