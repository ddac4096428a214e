"""Small graph queries shared by the passes."""

from __future__ import annotations

from ..ir import Graph, Node


def sole_consumer(graph: Graph, tensor: str) -> Node | None:
    """The only node reading `tensor`, if exactly one does and it is not a graph output."""
    if graph.is_graph_output(tensor):
        return None
    consumers = graph.consumers(tensor)
    return consumers[0] if len(consumers) == 1 else None

