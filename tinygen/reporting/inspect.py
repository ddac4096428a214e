"""`tinygen inspect MODEL.onnx`: a model's ops, shapes, parameters and MACs before compiling it,
and every node tinygen cannot compile, with the reason.

The verdicts are the compiler's own: the model goes through the same loader (checker, opset
upgrade, batch pinning, shape inference, constant folding) and the same importer that `tinygen
compile` uses; the importer collects its problems instead of raising them, so the list of
unsupported nodes is exactly the one compile would refuse with. When every node imports, the
graph also goes through the compiler's passes, so layers, parameters and MACs are the ones
`tinygen compile` reports; otherwise they are those of the nodes that imported, before the passes.
A .tflite file is inspected the same way, by TFLite operator.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..codegen.render import weight_tensors
from ..errors import Problem, ProblemCollector
from ..frontend.formats import model_format
from ..frontend.importer import import_model
from ..frontend.loader import load_model
from ..frontend.tflite import load_tflite
from ..frontend.tflite_import import import_tflite
from ..ir import Graph
from ..ops import op_of
from ..passes import run_pipeline


def inspect_model(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None
                  ) -> tuple[dict[str, Any], list[Problem]]:
    """(the figures, JSON-ready; the problems compile would refuse the model with, if any)."""
    if model_format(path) == "tflite":
        return inspect_tflite(path)
    loaded = load_model(str(path), input_shapes)
    problems = ProblemCollector(loaded.path)
    graph = import_model(loaded, problems)
    layers_of, refused = layers_and_refusals(graph, problems)

    def shape(name: str) -> list[int] | None:
        info = loaded.values.get(name)
        return list(info.shape) if info else None

    nodes = []
    for index, node in enumerate(loaded.graph.node):
        shown = node.name or f"<unnamed {node.op_type}>"
        ir_name = node.name or f"{node.op_type}_{node.output[0]}"
        nodes.append(node_row(
            index, shown, node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}",
            [shape(n) for n in node.input if n and n not in loaded.constants], [shape(n) for n in node.output if n],
            layers_of.get(ir_name, []), refused.get(shown, [])))
    io = [{"name": name, "shape": list(loaded.values[name].shape), "dtype": str(loaded.values[name].dtype)}
          for name in loaded.input_names]
    outputs = [{"name": name, "shape": shape(name)} for name in loaded.output_names]
    result = {
        "model": str(path),
        "opset": loaded.opset,
        "upgraded_from_opset": loaded.upgraded_from,
        "inputs": io,
        "outputs": outputs,
        **summary(nodes, graph, problems, "nodes"),
        "notes": list(loaded.notes),
    }
    return result, problems.problems


def inspect_tflite(path: str | Path) -> tuple[dict[str, Any], list[Problem]]:
    """The same for a .tflite file: its operators, named after their first output tensor."""
    model = load_tflite(path)
    problems = ProblemCollector(model.path)
    graph = import_tflite(model, problems)
    layers_of, refused = layers_and_refusals(graph, problems)
    nodes = []
    for op in model.operators:
        name = model.tensors[op.outputs[0]].name if op.outputs else f"{op.op}_{op.index}"
        nodes.append(node_row(
            op.index, name, op.op,
            [list(model.tensors[i].shape) for i in op.inputs if i >= 0 and not model.tensors[i].is_constant],
            [list(model.tensors[i].shape) for i in op.outputs], layers_of.get(name, []), refused.get(name, [])))
    tensors = model.tensors
    result = {
        "model": str(path),
        "format": "TFLite",
        "opset": None,
        "upgraded_from_opset": None,
        "inputs": [{"name": tensors[i].name, "shape": list(tensors[i].shape), "dtype": tensors[i].type_name}
                   for i in model.inputs],
        "outputs": [{"name": tensors[i].name, "shape": list(tensors[i].shape)} for i in model.outputs],
        **summary(nodes, graph, problems, "operators"),
    }
    return result, problems.problems


def layers_and_refusals(graph: Graph, problems: ProblemCollector
                        ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[Problem]]]:
    """The compiler's layers of an imported graph by source node name (after the compiler's passes --
    fused activations, folded BatchNorm, ... -- when every node imported), and the problems by node."""
    if not problems.problems:
        run_pipeline(graph)
    layers_of: dict[str, list[dict[str, Any]]] = {}
    for node, weights in zip(graph.nodes, weight_tensors(graph), strict=True):
        params = sum(graph.tensors[name].size for name in weights)
        layers_of.setdefault(node.name, []).append(
            {"op": node.op, "macs": int(op_of(node).macs(node, graph)), "params": int(params)})
    refused: dict[str, list[Problem]] = {}
    for problem in problems.problems:
        refused.setdefault(problem.node or "", []).append(problem)
    return layers_of, refused


def node_row(index: int, name: str, op: str, inputs: list[Any], outputs: list[Any],
             layers: list[dict[str, Any]], reasons: list[Problem]) -> dict[str, Any]:
    """One source node (ONNX node or TFLite operator) of the inspection, with the layers it became."""
    return {
        "index": index,
        "name": name,
        "op": op,
        "inputs": inputs,
        "outputs": outputs,
        "supported": not reasons,
        "reasons": [problem.reason + (f" — {problem.hint}" if problem.hint else "") for problem in reasons],
        "layers": [layer["op"] for layer in layers],
        "macs": sum(layer["macs"] for layer in layers),
        "params": sum(layer["params"] for layer in layers),
    }


def summary(nodes: list[dict[str, Any]], graph: Graph, problems: ProblemCollector, what: str) -> dict[str, Any]:
    """The totals over the source nodes (`what`: "nodes" or "operators")."""
    supported = not problems.problems
    return {
        "ops": dict(sorted(Counter(row["op"] for row in nodes).items())),
        "nodes": nodes,
        "supported": supported,
        "layers": len(graph.nodes),
        "macs": int(sum(row["macs"] for row in nodes)),
        "params": int(sum(row["params"] for row in nodes)),
        "figures": "after the compiler's passes" if supported else f"of the {what} that import, before the passes",
        "problems": [str(problem) for problem in problems.problems],
    }


def inspect_lines(result: dict[str, Any]) -> list[str]:
    ins = ", ".join(f"{io['name']} {io['shape']} {io['dtype']}" for io in result["inputs"])
    outs = ", ".join(f"{io['name']} {io['shape']}" for io in result["outputs"])
    upgraded = f" (upgraded from {result['upgraded_from_opset']})" if result["upgraded_from_opset"] else ""
    source = f"opset {result['opset']}{upgraded}" if result["opset"] is not None else result.get("format", "")
    lines = [f"{result['model']}: {source}, {len(result['nodes'])} nodes",
             f"  inputs:  {ins}", f"  outputs: {outs}", "",
             f"  {'#':>3}  {'op':<20} {'name':<32} {'output shape':<18} {'tinygen layer':<18} {'MACs':>11} "
             f"{'params':>9}  status"]
    for row in result["nodes"]:
        out = str(row["outputs"][0]) if row["outputs"] and row["outputs"][0] is not None else "-"
        name = row["name"] if len(row["name"]) <= 32 else row["name"][:31] + "…"
        layer = ", ".join(row["layers"]) or "-"
        status = "ok" if row["supported"] else "UNSUPPORTED: " + "; ".join(row["reasons"])
        lines.append(f"  {row['index']:>3}  {row['op']:<20} {name:<32} {out:<18} {layer:<18} {row['macs']:>11,} "
                     f"{row['params']:>9,}  {status}")
    ops = ", ".join(f"{op} x{count}" for op, count in result["ops"].items())
    lines += ["  (tinygen layer '-': the node becomes part of another layer -- a fused activation, a folded "
              "BatchNorm, quantization parameters -- or needs no code)",
              "", f"  ops:        {ops}",
              f"  layers:     {result['layers']} ({result['figures']})",
              f"  parameters: {result['params']:,}",
              f"  MACs:       {result['macs']:,}"]
    lines += [f"  note:       {note}" for note in result.get("notes", [])]
    if result["supported"]:
        lines.append("  every node is supported: `tinygen compile` can compile it")
    return lines
