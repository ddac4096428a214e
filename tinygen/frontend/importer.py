"""Turn a loaded ONNX model into tinygen's IR, node by node, through the registered import functions.

Every ONNX node is handed to the import function registered for its op type (tinygen/ops/*.py).
Problems are collected -- an unknown op, an unsupported attribute value, a dynamic shape -- and
raised together at the end, so a user sees every node tinygen cannot compile in one message.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import onnx

from ..errors import ProblemCollector
from ..ir import Graph
from ..ops import ONNX_IMPORTERS, Unsupported
from ..ops.onnx_import import ONNX_REWRITES, ImportContext
from .layout import assign_layouts
from .loader import LoadedModel

ACCEPTED_INPUT_DTYPES = (np.float32, np.int8, np.uint8)
MAX_INPUT_RANK = 6  # the data-movement kernels' axes (ops/copy.py); other ops check their own ranks

# Where an export change avoids an unsupported operator, the message says which (only when the op's own
# import function gave no hint).
EXPORT_HINTS = {
    "Einsum": "write the product with torch.matmul / nn.Linear instead of einsum",
    "Loop": "control flow: export by tracing (torch.onnx.export of the eval-mode model) with a fixed length",
    "Scan": "control flow: export by tracing with a fixed sequence length",
    "If": "control flow: export by tracing, so the branch taken at export is the graph",
    "NonZero": "a data-dependent shape: move it to post-processing outside the model",
    "TopK": "move the top-k selection to post-processing outside the model",
    "NonMaxSuppression": "move non-maximum suppression to post-processing outside the model",
    "RandomNormalLike": "export the model in eval mode (model.eval())",
    "RandomUniformLike": "export the model in eval mode (model.eval())",
    "Bernoulli": "export the model in eval mode (model.eval())",
    "GridSample": "replace grid_sample with interpolate (Resize) where the grid is a plain scaling",
}


def model_name(path: str) -> str:
    stem = Path(path).stem
    return re.sub(r"[^0-9A-Za-z_]", "_", stem) or "model"


def import_model(loaded: LoadedModel, problems: ProblemCollector | None = None) -> Graph:
    """ONNX -> float IR (channels-last). Raises UnsupportedModelError listing every problem; given
    a `problems` collector instead, fills it and returns the graph of the nodes that imported
    (`tinygen inspect`: unsupported nodes are missing, their outputs are placeholders)."""
    collect_only = problems is not None
    problems = problems if problems is not None else ProblemCollector(loaded.path)
    loaded = _rewritten(loaded)  # patterns one IR op computes (a decomposed LayerNorm), on a copy
    graph = Graph(model_name(loaded.path), source=loaded.path)
    ctx = ImportContext(loaded, graph, assign_layouts(loaded))

    for name in loaded.input_names:
        info = loaded.values[name]
        if info.dtype.type not in ACCEPTED_INPUT_DTYPES:
            problems.add(f"model input '{name}' has type {info.dtype}; tinygen takes float32 "
                         "(or int8/uint8 in quantized models)")
        if len(info.shape) > MAX_INPUT_RANK:
            problems.add(f"model input '{name}' has rank {len(info.shape)}; tinygen handles rank <= {MAX_INPUT_RANK}")
            ctx.placeholder(name)  # its readers are imported as usual: no follow-on problems
            continue
        ctx.output_value(name)
        graph.tensors[name].dtype = "float32"
        graph.inputs.append(name)

    for node in loaded.graph.node:
        ctx.node = node
        importer = ONNX_IMPORTERS.get((node.domain if node.domain != "ai.onnx" else "", node.op_type))
        name = node.name or f"<unnamed {node.op_type}>"
        try:
            if importer is None:
                domain = f" (domain '{node.domain}')" if node.domain not in ("", "ai.onnx") else ""
                raise Unsupported(f"operator {node.op_type}{domain} is not supported")
            if importer.refuses:
                importer.function(ctx)
            missing = [out for out in node.output
                       if out and out not in loaded.values and out not in loaded.constants]
            if missing:
                raise Unsupported(f"output '{missing[0]}' has no static shape",
                                  hint="export with fixed input shapes")
            importer(ctx, node)
            unset = [out for out in node.output if out and out not in ctx.values]
            if unset:
                raise AssertionError(f"import of {node.op_type} did not define {unset}")
        except Unsupported as exc:
            hint = exc.hint or EXPORT_HINTS.get(node.op_type)
            problems.add(exc.reason + _shapes_as_exported(loaded, node), name, node.op_type, hint)
            for out in node.output:
                if out and out not in ctx.values:
                    ctx.placeholder(out)

    for name in loaded.output_names:
        value = ctx.values.get(name) or (ctx.value(name) if name in loaded.constants else None)
        if value is None:
            problems.add(f"model output '{name}' is not produced")
        elif value.is_const:
            problems.add(f"model output '{name}' is a constant; there is nothing to compute")
        else:
            assert value.tensor is not None
            graph.outputs.append(value.tensor)
    if collect_only and problems.problems:
        return graph
    problems.raise_if_any()
    _keep_onnx_output_names(graph, loaded, ctx)
    graph.remove_unused_tensors()
    return graph


def _rewritten(loaded: LoadedModel) -> LoadedModel:
    """The op modules' ONNX rewrites (ops/onnx_import.py ONNX_REWRITES) applied to a copy of the node
    list; the loaded model itself stays as the user's file has it (calibration runs it)."""
    nodes = list(loaded.graph.node)
    constants = dict(loaded.constants)
    for rewrite in ONNX_REWRITES:
        nodes = rewrite(nodes, constants, set(loaded.output_names))
    if nodes == list(loaded.graph.node):
        return loaded
    model = onnx.ModelProto()
    model.CopyFrom(loaded.model)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return dataclasses.replace(loaded, model=model, constants=constants)


def _shapes_as_exported(loaded: LoadedModel, node: onnx.NodeProto) -> str:
    """The node's run-time input and output shapes in the model's own layout (as exported, batch 1),
    so a message never shows tinygen's channels-last view."""

    def shapes(names: list[str]) -> str:
        known = [str(list(loaded.values[n].shape)) for n in names if n and n in loaded.values]
        return ", ".join(known) if known else ""

    ins, outs = shapes(list(node.input)), shapes(list(node.output))
    if not ins and not outs:
        return ""
    return f" (input {ins or '-'} -> output {outs or '-'}, as exported)"


def _keep_onnx_output_names(graph: Graph, loaded: LoadedModel, ctx: ImportContext) -> None:
    """Record each graph output's ONNX name and shape (an Identity may have renamed it)."""
    for index, name in enumerate(loaded.output_names):
        value = ctx.values[name]
        tensor = graph.tensors[graph.outputs[index]]
        tensor.onnx_shape = value.shape
    graph.onnx_outputs = list(loaded.output_names)
