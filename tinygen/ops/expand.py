"""Expand and Tile of run-time tensors, as data movements (ops/copy.py): a broadcast axis is a copy axis of
input stride 0, a tiled one repeats the input's axis. (Of constants, both are folded by the loader.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import Unsupported, onnx_op
from .copy import emit_movement, source_positions
from .slice import constant_ints

if TYPE_CHECKING:
    from .onnx_import import ImportContext, Value


@onnx_op("Expand", layout="transparent", constraints="constant target shape (numpy broadcasting)")
def Expand(ctx: ImportContext, input: Value, shape: Value) -> None:
    target = constant_ints(shape, "target shape")
    assert target is not None
    positions = source_positions(input)
    try:
        full = np.broadcast_shapes(positions.shape, tuple(target))
    except ValueError:
        raise Unsupported(f"shape {list(input.shape)} does not broadcast to {target}") from None
    emit_movement(ctx, input, ctx.output_name, np.broadcast_to(positions, full))


@onnx_op("Tile", layout="transparent", constraints="constant repeats")
def Tile(ctx: ImportContext, input: Value, repeats: Value) -> None:
    counts = constant_ints(repeats, "repeats")
    assert counts is not None
    if len(counts) != input.rank or min(counts) < 1:
        raise Unsupported(f"repeats {counts} for a rank-{input.rank} tensor")
    emit_movement(ctx, input, ctx.output_name, np.tile(source_positions(input), counts))
