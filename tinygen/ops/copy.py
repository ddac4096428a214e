"""Data movement as index maps: Slice, Split, Gather, Transpose, Expand, Tile (and the copies a Reshape of a
channels-last feature map needs) all compute `out[i] = in[map[i]]` over the stored bytes, so they share one
description and three ways to run it.

The importers build the map with numpy: an array of the input's ONNX shape holding each element's position
in storage (`storage_positions`) goes through the ONNX op itself (slicing, np.take, transpose, broadcast),
and the result, put in the output's storage order, is the map (`storage_map`). The user's axes are the ONNX
axes throughout; tinygen's channels-last storage only enters through the two layout conversions. The map
then runs as
  * nothing (`reshape`, an alias) when it is the identity: an identity Gather, a no-op Slice;
  * a view (`slice_view`, no code) when it is one contiguous run starting at a 4-byte boundary: a Split or
    Slice along the outermost stored axis (a TCN's causal chomp), chosen by passes/fold_copies.py;
  * one strided copy (`copy`, tg_copy_s8) when it factors into at most 6 nested (size, input stride) axes
    -- every Slice (any steps, negative too), Transpose, Expand/Tile and Gather with evenly spaced indices;
  * a table copy (`gather`, tg_gather_s8) otherwise: contiguous runs of `inner` bytes taken at the table's
    offsets, repeated `outer` times `outer_stride` apart (Gather with arbitrary indices, GatherND).
Consecutive data movements compose into one map (passes/fold_copies.py): ShuffleNet's channel shuffle
(Reshape to rank 5, Transpose, Reshape back) is one copy of three nested axes.

The output keeps the input's quantization: values are moved, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ir import Graph, Layout, Node
from .base import InPlace, Kernel, Op, Unsupported, register
from .emit import CLayer

if TYPE_CHECKING:
    from .emit import EmitContext
    from .onnx_import import ImportContext, Value

MAX_COPY_RANK = 6  # TG_COPY_MAX_RANK: axes of tg_copy_s8
VIEW_ALIGNMENT = 4  # a view must start where an arena buffer could (kernels read activations as words)


# --- index maps ---------------------------------------------------------------------------------------

def storage_positions(shape: tuple[int, ...], layout: Layout) -> np.ndarray:
    """An int64 array of the ONNX `shape` holding, for each element, its flat position in storage."""
    size = int(np.prod(shape, dtype=np.int64))
    stored = layout.to_physical(np.arange(size, dtype=np.int64).reshape(shape)).ravel()  # storage -> ONNX index
    positions = np.empty(size, np.int64)
    positions[stored] = np.arange(size, dtype=np.int64)
    return positions.reshape(shape)


def storage_map(positions: np.ndarray, layout: Layout) -> np.ndarray:
    """The flat index map of an output whose ONNX-shaped `positions` name input storage positions."""
    return np.ascontiguousarray(layout.to_physical(positions)).ravel().astype(np.int64)


@dataclass(frozen=True)
class Strided:
    """out = in[offset + sum_k i_k * strides[k]] over nested axes `dims` (outermost first)."""

    dims: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int


@dataclass(frozen=True)
class Table:
    """Runs of `inner` contiguous input elements starting at offset o * outer_stride + table[j], for o in
    [0, outer) and j over the table, written one after the other."""

    outer: int
    outer_stride: int
    inner: int
    table: tuple[int, ...]


def strided_form(index_map: np.ndarray) -> Strided | None:
    """The map as the fewest nested strided axes (size-1 axes dropped, mergeable neighbours merged), or None.

    Found from the innermost axis out: its stride is the first step, its size the longest run with that step
    from the start; every block of that size must repeat the run, and the blocks' starts are the next level.
    A run can only continue past an axis boundary when the outer axis's stride continues it, i.e. when the two
    axes merge, so the run lengths found are exactly the merged axes' sizes."""
    offset = int(index_map[0])
    level = index_map.astype(np.int64) - offset
    dims: list[int] = []
    strides: list[int] = []
    while level.size > 1:
        step = int(level[1] - level[0])
        breaks = np.flatnonzero(np.diff(level) != step)
        run = int(breaks[0]) + 1 if breaks.size else level.size
        if level.size % run:
            return None
        blocks = level.reshape(-1, run)
        if not np.array_equal(blocks - blocks[:, :1], np.broadcast_to(np.arange(run) * step, blocks.shape)):
            return None
        dims.insert(0, run)
        strides.insert(0, step)
        level = blocks[:, 0]
    if not dims:
        dims, strides = [1], [0]
    return Strided(tuple(dims), tuple(strides), offset)


def table_form(index_map: np.ndarray) -> Table:
    """Any map as a table copy: the longest contiguous runs that tile it, then the shortest table whose
    repetitions (a constant distance apart) give the runs' starts."""
    size = index_map.size
    breaks = np.flatnonzero(np.diff(index_map) != 1)
    longest = int(breaks[0]) + 1 if breaks.size else size
    inner = 1
    for candidate in range(longest, 0, -1):
        if size % candidate == 0:
            blocks = index_map.reshape(-1, candidate)
            if np.array_equal(blocks - blocks[:, :1], np.broadcast_to(np.arange(candidate), blocks.shape)):
                inner = candidate
                break
    starts = index_map[::inner]
    for count in range(1, starts.size + 1):
        if starts.size % count:
            continue
        rows = starts.reshape(-1, count)
        firsts = rows[:, 0]
        stride = int(firsts[1] - firsts[0]) if firsts.size > 1 else 0
        if (np.array_equal(rows - firsts[:, None], np.broadcast_to(rows[0] - rows[0, 0], rows.shape))
                and np.array_equal(firsts, firsts[0] + stride * np.arange(firsts.size))):
            return Table(firsts.size, stride, inner, tuple(int(v) for v in rows[0]))
    raise AssertionError("a table of every run start always fits")  # count == starts.size


def is_identity(index_map: np.ndarray, source_size: int) -> bool:
    return index_map.size == source_size and np.array_equal(index_map, np.arange(source_size))


def contiguous_start(index_map: np.ndarray) -> int | None:
    """The first input element when the map reads one contiguous run in order, else None."""
    start = int(index_map[0])
    return start if np.array_equal(index_map, start + np.arange(index_map.size)) else None


def movement_node(graph: Graph, name: str, source: str, target: str, index_map: np.ndarray) -> Node:
    """The cheapest IR node running `index_map` from `source` to `target` (see the module docstring; views
    are chosen later, by passes/fold_copies.py, where the graph around them is known)."""
    if is_identity(index_map, graph.tensors[source].size):
        return Node(name, "reshape", [source], [target])
    strided = strided_form(index_map)
    if strided is not None and len(strided.dims) <= MAX_COPY_RANK:
        return Node(name, "copy", [source], [target],
                    {"dims": list(strided.dims), "strides": list(strided.strides), "offset": strided.offset})
    table = table_form(index_map)
    return Node(name, "gather", [source], [target], {"outer": table.outer, "outer_stride": table.outer_stride,
                                                      "inner": table.inner, "table": list(table.table)})


def emit_movement(ctx: ImportContext, source: Value, out_name: str, positions: np.ndarray) -> None:
    """Import the ONNX output `out_name`, whose ONNX-shaped `positions` name elements of `source`'s storage."""
    if source.const is not None:
        raise Unsupported("moving the values of a constant that was not folded")
    runtime = source.runtime
    out_layout = ctx.layouts.get(out_name, Layout.PLAIN)
    expected = ctx.loaded.values[out_name].shape
    if tuple(positions.shape) != tuple(expected):
        raise AssertionError(f"{ctx.node_name}: computed shape {positions.shape} != inferred {expected}")
    out = ctx.output_value(out_name)
    node = movement_node(ctx.graph, ctx.node_name, runtime, out.runtime, storage_map(positions, out_layout))
    ctx.graph.nodes.append(node)


def source_positions(value: Value) -> np.ndarray:
    """Storage positions of a run-time value, in its ONNX shape."""
    if value.const is not None:
        raise Unsupported("moving the values of a constant that was not folded")
    return storage_positions(value.shape, value.layout)


# --- IR ops ---------------------------------------------------------------------------------------------

class _Movement(Op):
    output_quant = "input"

    def moved_bytes(self, node: Node, graph: Graph) -> int:
        return graph.tensors[node.outputs[0]].nbytes

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        index_map = self.index_map(node, graph)
        assert index_map is not None
        return [inputs[0].ravel()[index_map].reshape(graph.tensors[node.outputs[0]].shape)]


def _copy_cost(node: Node, graph: Graph) -> int:
    """Estimated Cortex-M4 instructions: ~4 per element moved one at a time, ~1 per 4 bytes of a memcpy
    run, plus the loop overhead of each innermost run."""
    dims, strides = node.attrs["dims"], node.attrs["strides"]
    size = int(np.prod(dims))
    rows = size // dims[-1]
    per_row = dims[-1] // 4 + 12 if strides[-1] == 1 else 4 * dims[-1]
    return rows * (per_row + 6)


def _padded(node: Node) -> tuple[list[int], list[int]]:
    """dims and strides as tg_copy_params holds them: 6 axes, leading ones of size 1."""
    pad = MAX_COPY_RANK - len(node.attrs["dims"])
    return [1] * pad + list(node.attrs["dims"]), [0] * pad + list(node.attrs["strides"])


def _copy_in_place(node: Node, graph: Graph) -> list[InPlace]:
    """tg_copy_s8's in-place contract (tg_copy.h): rows in output order, each element read before it is
    written (rows of 16 bytes and more by memmove). When the map is strictly increasing, the output element i
    reads input element map[i] >= i and every later read lies above it, so the output may start at the input
    or anywhere lower (a slice or split part writing over the map it is cut from). Not for short rows
    (fewer than 4 bytes along a longer axis), which the kernel walks column by column."""
    dims, _ = _padded(node)
    if (dims[5] < 4 and dims[4] > dims[5]) or not node.params.get("increasing"):
        return []
    return [InPlace(0, 0)]


@register
class CopyOp(_Movement):
    name = "copy"
    summary = "strided copy of up to 6 nested axes (slice, split, transpose, expand, evenly spaced gather)"
    kernels = (Kernel("tg_copy_s8", "tg_copy_params", cost=_copy_cost, in_place=_copy_in_place),)

    def quantize(self, node: Node, graph: Graph) -> None:
        index_map = self.index_map(node, graph)
        assert index_map is not None
        # Whether the map only moves elements towards the start, in order (the in-place condition).
        node.params = {"increasing": bool(np.all(np.diff(index_map) > 0))}

    def index_map(self, node: Node, graph: Graph) -> np.ndarray | None:
        dims, strides = node.attrs["dims"], node.attrs["strides"]
        index = np.full((1,) * len(dims), node.attrs["offset"], np.int64)
        for axis, (size, stride) in enumerate(zip(dims, strides, strict=True)):
            shape = [1] * len(dims)
            shape[axis] = size
            index = index + (np.arange(size, dtype=np.int64) * stride).reshape(shape)
        return index.ravel()

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        dims, strides = _padded(node)
        fields = [("dims", "{" + ", ".join(map(str, dims)) + "}"),
                  ("strides", "{" + ", ".join(map(str, strides)) + "}"),
                  ("offset", str(node.attrs["offset"]))]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])


def _gather_cost(node: Node, graph: Graph) -> int:
    runs = node.attrs["outer"] * len(node.attrs["table"])
    inner = node.attrs["inner"]
    return runs * (6 + (4 if inner == 1 else inner // 4 + 12))


@register
class GatherOp(_Movement):
    name = "gather"
    summary = "table copy: contiguous runs taken at the table's offsets (gather with arbitrary indices)"
    kernels = (Kernel("tg_gather_s8", "tg_gather_params", cost=_gather_cost),)

    def index_map(self, node: Node, graph: Graph) -> np.ndarray | None:
        a = node.attrs
        starts = (np.arange(a["outer"], dtype=np.int64)[:, None] * a["outer_stride"]
                  + np.asarray(a["table"], np.int64)[None, :])
        return (starts.reshape(-1, 1) + np.arange(a["inner"], dtype=np.int64)[None, :]).ravel()

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        a = node.attrs
        table = ctx.array("table", np.asarray(a["table"], np.int32), "input offset of each run")
        fields = [("outer", str(a["outer"])), ("outer_stride", str(a["outer_stride"])),
                  ("count", str(len(a["table"]))), ("inner", str(a["inner"])), ("table", table)]
        return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])


@register
class SliceViewOp(_Movement):
    name = "slice_view"
    summary = "a contiguous run of the input's bytes, where they lie (a slice or split output; no code)"

    def moved_bytes(self, node: Node, graph: Graph) -> int:
        return 0

    def views(self, node: Node, graph: Graph) -> dict[str, tuple[str, int]]:
        return {node.outputs[0]: (node.inputs[0], int(node.attrs["offset"]))}

    def index_map(self, node: Node, graph: Graph) -> np.ndarray | None:
        return node.attrs["offset"] + np.arange(graph.tensors[node.outputs[0]].size, dtype=np.int64)

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        return CLayer.no_code()
