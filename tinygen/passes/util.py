"""Small graph queries shared by the passes."""

from __future__ import annotations

from ..ir import Graph, Node


def sole_consumer(graph: Graph, tensor: str) -> Node | None:
    """The only node reading `tensor`, if exactly one does and it is not a graph output."""
    if graph.is_graph_output(tensor):
        return None
    consumers = graph.consumers(tensor)
    return consumers[0] if len(consumers) == 1 else None


def bypass(graph: Graph, node: Node) -> None:
    """Remove a single-input, single-output node, wiring its consumers to its input's producer."""
    producer = graph.producer(node.inputs[0])
    if producer is not None and not graph.is_graph_output(node.inputs[0]):
        # Keep the later name: it is what ONNX and the user call the surviving value.
        producer.outputs = [node.outputs[0] if o == node.inputs[0] else o for o in producer.outputs]
        graph.remove_node(node)
    else:
        graph.replace_uses(node.outputs[0], node.inputs[0])
        graph.remove_node(node)
