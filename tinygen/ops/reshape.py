"""Layout ops: Reshape, Flatten, Squeeze, Unsqueeze (aliases, no copy when the bytes already lie in
the right order), Identity and Dropout (nothing at all), Transpose (a data movement, ops/copy.py).

A reshape is free when the input's storage order equals its ONNX order and the same holds for
the output -- always for plain tensors, and for channels-last feature maps with one channel or
one pixel (the MLPerf models' Flatten). Otherwise the feature map is first transposed to
channels-first so the reshape sees ONNX's element order (passes/fold_flatten_transpose.py
removes that copy in front of a fully connected layer by permuting its weights instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..cformat import c_init
from ..ir import Graph, Layout, Node
from .base import Kernel, Op, Unsupported, onnx_op, register
from .copy import emit_movement, source_positions
from .emit import CLayer

if TYPE_CHECKING:
    from .emit import EmitContext
    from .onnx_import import ImportContext, Value


def storage_matches_onnx(shape: tuple[int, ...], layout: Layout) -> bool:
    """Does a tensor's storage order equal ONNX's element order?"""
    if layout is Layout.PLAIN:
        return True
    channels = shape[1]
    spatial = int(np.prod(shape[2:]))
    return channels == 1 or spatial == 1


def channels_first_perm(layout_rank: int) -> list[int]:
    """Physical permutation taking channels-last storage to channels-first (ONNX) order, on the
    4-D storage view: rank 4 [N,H,W,C] -> [N,C,H,W]; rank 3 [N,1,L,C] -> [N,C,1,L]."""
    return [0, 3, 1, 2]


def reshape_value(ctx: ImportContext, X: Value, out_name: str) -> None:
    if X.const is not None:
        raise Unsupported("reshaping a constant that is not folded")
    out_info = ctx.loaded.values[out_name]
    out_layout = ctx.layouts.get(out_name, Layout.PLAIN)
    source = X.tensor
    assert source is not None
    if (X.layout is Layout.CHANNELS_LAST and out_layout is Layout.CHANNELS_LAST
            and tuple(X.shape[:2]) == tuple(out_info.shape[:2])):
        # Only the spatial axes change ([N, C, L] <-> [N, C, 1, L], as the torch.export-based
        # exporter writes AdaptiveAvgPool1d): channels-last storage lists the pixels in the same
        # row-major order before and after, so the bytes are already right.
        out = ctx.output_value(out_name)
        ctx.emit("reshape", [source], [out.runtime])
        return
    if not storage_matches_onnx(X.shape, X.layout):
        # Bring the feature map into ONNX order first.
        plain = ctx.intermediate(f"{X.name}_nchw", X.shape, Layout.PLAIN, X.shape)
        ctx.emit("transpose", [source], [plain], perm=channels_first_perm(X.rank))
        source = plain
    if not storage_matches_onnx(out_info.shape, out_layout):
        plain = ctx.intermediate(f"{out_name}_nchw", out_info.shape, Layout.PLAIN, out_info.shape)
        ctx.emit("reshape", [source], [plain])
        out = ctx.output_value(out_name)
        shape = out_info.shape
        view = list(shape) if len(shape) == 4 else [shape[0], shape[1], 1, shape[2]]
        ctx.emit("transpose", [plain], [out.runtime], perm=[0, 2, 3, 1], view=view)
        return
    out = ctx.output_value(out_name)
    ctx.emit("reshape", [source], [out.runtime])


@onnx_op("Reshape", layout="reorder", constraints="static target shape (computed shapes are folded at compile time)")
def Reshape(ctx: ImportContext, data: Value, shape: Value, *, allowzero: int = 0) -> None:
    if shape.const is None:
        raise Unsupported("the target shape is computed at run time")
    reshape_value(ctx, data, ctx.output_name)


@onnx_op("Flatten", layout="reorder", constraints="any axis")
def Flatten(ctx: ImportContext, input: Value, *, axis: int = 1) -> None:
    reshape_value(ctx, input, ctx.output_name)


@onnx_op("Squeeze", "Unsqueeze", layout="reorder", constraints="constant axes")
def Squeeze(ctx: ImportContext, data: Value, axes: Value | None = None) -> None:
    if axes is not None and axes.const is None:
        raise Unsupported("the axes are computed at run time")
    reshape_value(ctx, data, ctx.output_name)


@onnx_op("Identity", layout="transparent", constraints="")
def Identity(ctx: ImportContext, input: Value) -> None:
    ctx.alias(ctx.output_name, input)


@onnx_op("Dropout", layout="transparent", constraints="inference only: the mask output must be unused")
def Dropout(ctx: ImportContext, data: Value, ratio: Value | None = None, training_mode: Value | None = None,
            *, seed: int = 0) -> None:
    node = ctx.node
    assert node is not None
    if training_mode is not None and (training_mode.const is None or bool(np.any(training_mode.const))):
        raise Unsupported("training_mode must be a constant false")
    if len(node.output) > 1 and node.output[1]:
        raise Unsupported("the dropout mask output is used")
    ctx.alias(node.output[0], data)


@onnx_op("Transpose", layout="reorder",
         constraints="any permutation (one strided copy; nothing when the stored bytes already agree)")
def Transpose(ctx: ImportContext, data: Value, *, perm: list[int] | None = None) -> None:
    perm = list(perm) if perm is not None else list(reversed(range(data.rank)))
    if sorted(perm) != list(range(data.rank)):
        raise Unsupported(f"perm {perm} is not a permutation of the {data.rank} axes")
    emit_movement(ctx, data, ctx.output_name, source_positions(data).transpose(perm))


@register
class ReshapeOp(Op):
    name = "reshape"
    summary = "reinterpret the input's bytes with a new shape (no code, no copy)"
    is_alias = True
    output_quant = "input"

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0].reshape(graph.tensors[node.outputs[0]].shape)]

    def index_map(self, node: Node, graph: Graph) -> np.ndarray | None:
        return np.arange(graph.tensors[node.outputs[0]].size, dtype=np.int64)

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        return CLayer.no_code()


@register
class TransposeOp(Op):
    name = "transpose"
    summary = "permute the axes of a tensor of rank <= 4 (a copy)"
    kernels = (Kernel("tg_transpose_s8", "tg_transpose_params"),)
    output_quant = "input"

    def _view(self, node: Node, graph: Graph) -> tuple[int, int, int, int]:
        """The input as 4-D storage [d0, d1, d2, d3] that `perm` permutes."""
        if "view" in node.attrs:
            a, b, c, d = node.attrs["view"]
            return (a, b, c, d)
        shape = list(graph.tensors[node.inputs[0]].shape)
        shape = [1] * (4 - len(shape)) + shape
        return (shape[0], shape[1], shape[2], shape[3])

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0].reshape(self._view(node, graph))
        return [np.ascontiguousarray(x.transpose(node.attrs["perm"])).reshape(
            graph.tensors[node.outputs[0]].shape)]

    def index_map(self, node: Node, graph: Graph) -> np.ndarray | None:
        view = self._view(node, graph)
        return np.arange(int(np.prod(view)), dtype=np.int64).reshape(view).transpose(node.attrs["perm"]).ravel()

    def moved_bytes(self, node: Node, graph: Graph) -> int:
        return graph.tensors[node.outputs[0]].nbytes

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        fields = [("input", c_init(self._view(node, graph))),
                  ("perm", c_init(node.attrs["perm"]))]
        return ctx.call(fields,
                      [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
