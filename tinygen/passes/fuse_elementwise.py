"""Collapse a region of elementwise ops that computes a function of ONE tensor into one table.

With int8 input and output, any function of a single tensor is exactly a 256-entry lookup
table. Exporters spell many activations as small elementwise graphs -- GELU as
x * 0.5 * (1 + erf(x / sqrt 2)), SiLU as x * sigmoid(x), HardSwish as x * relu6(x + 3) / 6 --
which would otherwise run as several int8 ops, each rounding its intermediate result. The
region (lookup tables, and add / mul whose other operand is a scalar constant or the same
function of the same tensor) becomes one table evaluated in float64 at compile time: fewer
layers, no intermediate tensors, and closer to the float model.

Only regions whose intermediate tensors carry no quantization of their own are fused: in a
quantized (QDQ) model the intermediate parameters are the model's and must be kept.
"""

from __future__ import annotations

from typing import Any

from ..ir import Graph, Node

FUSABLE = {"lut", "add", "mul"}


def run(graph: Graph) -> int:
    root = _elementwise_roots(graph)
    fused = 0
    for node in list(graph.nodes):
        out = node.outputs[0] if node.outputs else None
        if out not in root or node not in graph.nodes:
            continue
        consumers = graph.consumers(out)
        if consumers and not graph.is_graph_output(out) and all(
                c.outputs and root.get(c.outputs[0]) == root[out] for c in consumers):
            continue  # an interior value of a larger region: its consumers will be fused instead
        steps = _expression(graph, out, root[out])
        if steps is None or len(steps) < 2:
            continue
        graph.nodes[graph.nodes.index(node)] = Node(node.name, "lut", [root[out]], [out],
                                                    {"function": "composite", "args": {"steps": steps}})
        fused += 1
    return fused


def _fusable(graph: Graph, node: Node) -> bool:
    if node.op not in FUSABLE or len(node.outputs) != 1:
        return False
    if node.op == "lut" and node.attrs.get("function") in ("requantize", "composite"):
        return False
    for name in node.inputs:
        tensor = graph.tensors[name]
        if tensor.data is not None and tensor.data.size != 1:
            return False  # a per-channel constant: not a function of one value
    return True


def _elementwise_roots(graph: Graph) -> dict[str, str]:
    """tensor -> the single activation it is an elementwise function of, through fusable ops."""
    root: dict[str, str] = {}
    for node in graph.nodes:
        if not _fusable(graph, node):
            continue
        runtime = [name for name in node.inputs if graph.tensors[name].data is None]
        roots = {root.get(name, name) for name in runtime}
        out = node.outputs[0]
        if len(roots) != 1:
            continue
        (source,) = roots
        if graph.tensors[out].shape != graph.tensors[source].shape:
            continue
        root[out] = source
    return root


def _expression(graph: Graph, out: str, source: str) -> list[dict[str, Any]] | None:
    """The steps computing `out` from `source` (value 0); None if an intermediate is quantized."""
    steps: list[dict[str, Any]] = []
    index: dict[str, int] = {source: 0}

    def operand(name: str) -> dict[str, Any] | None:
        tensor = graph.tensors[name]
        if tensor.data is not None:
            return {"const": float(tensor.data.reshape(-1)[0])}
        position = build(name)
        return None if position is None else {"value": position}

    def build(name: str) -> int | None:
        if name in index:
            return index[name]
        if name != out and graph.tensors[name].quant is not None:
            return None  # a quantized model's intermediate: keep it
        node = graph.producer(name)
        assert node is not None
        operands = [operand(i) for i in node.inputs]
        if any(o is None for o in operands):
            return None
        step: dict[str, Any] = {"op": node.op, "operands": operands}
        if node.op == "lut":
            step.update(function=node.attrs["function"], args=node.attrs.get("args", {}))
        else:
            step.update(subtract=bool(node.attrs.get("subtract", False)),
                        activation=node.attrs.get("activation"))
        steps.append(step)
        index[name] = len(steps)
        return index[name]

    return steps if build(out) is not None else None
