"""`tinygen inspect MODEL.tflite`: the TFLite operators with shapes, parameters and MACs, and every
operator tinygen cannot compile with the reason -- the compiler's own verdicts, as for ONNX
(report/inspect.py): the frontend collects its problems instead of raising them, and a supported
model goes through the compiler's passes, so layers, parameters and MACs equal compile's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..codegen.render import weight_tensors
from ..errors import Problem, ProblemCollector
from ..frontend.tflite import load_tflite
from ..frontend.tflite_import import import_tflite
from ..ops import op_of
from ..passes import run_pipeline


def inspect_tflite(path: str | Path) -> tuple[dict[str, Any], list[Problem]]:
    model = load_tflite(path)
    problems = ProblemCollector(model.path)
    graph = import_tflite(model, problems)
    supported = not problems.problems
    if supported:
        run_pipeline(graph)
    layers_of: dict[str, list[dict[str, Any]]] = {}
    for node, weights in zip(graph.nodes, weight_tensors(graph), strict=True):
        params = sum(graph.tensors[name].size for name in weights)
        layers_of.setdefault(node.name, []).append(
            {"op": node.op, "macs": int(op_of(node).macs(node, graph)), "params": int(params)})
    refused: dict[str, list[Problem]] = {}
    for problem in problems.problems:
        refused.setdefault(problem.node or "", []).append(problem)
    nodes = []
    for op in model.operators:
        name = model.tensors[op.outputs[0]].name if op.outputs else f"{op.op}_{op.index}"
        layers = layers_of.get(name, [])
        reasons = refused.get(name, [])
        nodes.append({
            "index": op.index,
            "name": name,
            "op": op.op,
            "inputs": [list(model.tensors[i].shape) for i in op.inputs if i >= 0 and not model.tensors[i].is_constant],
            "outputs": [list(model.tensors[i].shape) for i in op.outputs],
            "supported": not reasons,
            "reasons": [p.reason + (f" — {p.hint}" if p.hint else "") for p in reasons],
            "layers": [layer["op"] for layer in layers],
            "macs": sum(layer["macs"] for layer in layers),
            "params": sum(layer["params"] for layer in layers),
        })
    tensors = model.tensors
    result = {
        "model": str(path),
        "format": "TFLite",
        "opset": None,
        "upgraded_from_opset": None,
        "inputs": [{"name": tensors[i].name, "shape": list(tensors[i].shape), "dtype": tensors[i].type_name}
                   for i in model.inputs],
        "outputs": [{"name": tensors[i].name, "shape": list(tensors[i].shape)} for i in model.outputs],
        "ops": dict(sorted(Counter(row["op"] for row in nodes).items())),
        "nodes": nodes,
        "supported": supported,
        "layers": len(graph.nodes),
        "macs": int(sum(row["macs"] for row in nodes)),
        "params": int(sum(row["params"] for row in nodes)),
        "figures": "after the compiler's passes" if supported else "of the operators that import, before the passes",
        "problems": [str(problem) for problem in problems.problems],
    }
    return result, problems.problems
