"""Gather and GatherND with constant indices, as data movements (ops/copy.py).

Indices may be a scalar (`x[:, -1]`: the axis disappears), 1-D or N-D, negative ones counting from the end,
on any axis the user wrote. Evenly spaced indices -- one index, a range, a reversed or strided range -- are a
strided copy; an identity gather (indices = arange(dim), what torch.export writes after a global pool)
disappears; other indices become a table copy (tg_gather_s8). Gather on shapes and on other constants is
folded by the loader before import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import Unsupported, onnx_op
from .copy import emit_movement, source_positions
from .slice import user_axis

if TYPE_CHECKING:
    from .onnx_import import ImportContext, Value

RUNTIME_INDICES = "Gather with indices computed at run time (an embedding lookup of model inputs) is not supported"


def constant_indices(indices: Value, sizes: tuple[int, ...], axes: list[int]) -> np.ndarray:
    """The indices as int64 with negative ones made positive; each [..., k] indexes axis axes[k] of size
    sizes[k] (a plain Gather: one axis)."""
    if indices.const is None:
        raise Unsupported(RUNTIME_INDICES, hint="Keep the indices constant, or run the lookup outside the model.")
    values = np.asarray(indices.const).astype(np.int64)
    bound = np.asarray(sizes, np.int64) if len(sizes) > 1 else np.int64(sizes[0])  # keeps a scalar's shape
    if values.size and (np.any(values < -bound) or np.any(values >= bound)):
        bad = values[(values < -bound) | (values >= bound)][0]
        raise Unsupported(f"index {int(bad)} is out of range for axis {axes[0]} of size {sizes[0]}"
                          if len(axes) == 1 else f"index {int(bad)} is out of range for axes {axes} of sizes "
                          f"{list(sizes)}")
    return np.where(values < 0, values + bound, values)


@onnx_op("Gather", constraints="constant indices (scalar, 1-D or N-D, negative too) on any axis")
def Gather(ctx: ImportContext, data: Value, indices: Value, *, axis: int = 0) -> None:
    axis = user_axis(axis, data.rank)
    index = constant_indices(indices, (data.shape[axis],), [axis])
    emit_movement(ctx, data, ctx.output_name, np.take(source_positions(data), index, axis=axis))


@onnx_op("GatherND", constraints="constant indices, batch_dims 0")
def GatherND(ctx: ImportContext, data: Value, indices: Value, *, batch_dims: int = 0) -> None:
    if batch_dims != 0:
        raise Unsupported(f"batch_dims {batch_dims} is not supported (0 is)")
    if indices.const is None:
        raise Unsupported(RUNTIME_INDICES.replace("Gather", "GatherND"))
    depth = np.asarray(indices.const).shape[-1]
    if depth > data.rank:
        raise Unsupported(f"indices of depth {depth} into a rank-{data.rank} tensor")
    index = constant_indices(indices, tuple(data.shape[:depth]), list(range(depth)))
    positions = source_positions(data)[tuple(np.moveaxis(index, -1, 0))]
    emit_movement(ctx, data, ctx.output_name, positions)
