"""The two ops of patch-based execution (plan/patches.py): a feature map handled in row bands.

A band of rows of an NHWC feature map is a contiguous run of its bytes, so both ops are views that run
no code: `row_slice` names rows [row, row + rows) of its input (a band's input, read where the whole map
lies), and `row_concat` names its inputs as the consecutive row bands of its output (each band's last
layer writes straight into the map's rows). The planner places the views inside their map's buffer
(Op.views); the golden reference slices and concatenates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir import Graph, Node
from .base import Op, register
from .emit import CLayer

if TYPE_CHECKING:
    from .emit import EmitContext


def row_bytes(graph: Graph, tensor: str) -> int:
    """Bytes of one row of an NHWC feature map."""
    _, _, width, channels = graph.tensors[tensor].shape
    return width * channels


class _View(Op):
    output_quant = "input"

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        return CLayer.no_code()


@register
class RowSliceOp(_View):
    name = "row_slice"
    summary = "rows [row, row + rows) of a feature map, where they lie (patch-based execution; no code)"

    def views(self, node: Node, graph: Graph) -> dict[str, tuple[str, int]]:
        return {node.outputs[0]: (node.inputs[0], node.attrs["row"] * row_bytes(graph, node.inputs[0]))}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        row = node.attrs["row"]
        return [np.ascontiguousarray(inputs[0][:, row:row + graph.tensors[node.outputs[0]].shape[1]])]


@register
class RowConcatOp(_View):
    name = "row_concat"
    summary = "a feature map made of the row bands its inputs were written into (patch-based execution; no code)"

    def views(self, node: Node, graph: Graph) -> dict[str, tuple[str, int]]:
        step = row_bytes(graph, node.outputs[0])
        result, row = {}, 0
        for name in node.inputs:
            result[name] = (node.outputs[0], row * step)
            row += graph.tensors[name].shape[1]
        return result

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.concatenate(inputs, axis=1)]
