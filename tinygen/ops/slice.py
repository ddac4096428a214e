"""Slice and Split: parts of a tensor along the user's axes, as data movements (ops/copy.py).

Slice takes constant starts, ends, axes and steps with ONNX's clamping (negative indices count from the
end; out-of-range bounds are clamped; a negative step walks backwards). Split takes equal parts, explicit
sizes (the opset-13 `split` input) or opset 18's `num_outputs` (the last part smaller). Each output is one
strided copy, or a view with no code where it is a contiguous run of the stored bytes (a slice along the
outermost stored axis, such as a temporal conv net's causal chomp of [N, C, L] along L).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import Unsupported, onnx_op
from .copy import emit_movement, source_positions

if TYPE_CHECKING:
    from .onnx_import import ImportContext, Value


def constant_ints(value: Value | None, what: str) -> list[int] | None:
    """The integers of a constant input (None when absent); a run-time input is refused."""
    if value is None:
        return None
    if value.const is None:
        raise Unsupported(f"the {what} are computed at run time; tinygen needs them constant",
                          hint="Export with static shapes so that the exporter writes them as constants.")
    return [int(v) for v in np.asarray(value.const).reshape(-1)]


def user_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise Unsupported(f"{what} {axis} is out of range for a rank-{rank} tensor")
    return axis % rank


@onnx_op("Slice", layout="transparent", constraints="constant starts, ends, axes and steps (negative too)")
def Slice(ctx: ImportContext, data: Value, starts: Value, ends: Value, axes: Value | None = None,
          steps: Value | None = None) -> None:
    begin = constant_ints(starts, "starts") or []
    end = constant_ints(ends, "ends") or []
    axis_list = constant_ints(axes, "axes")
    step_list = constant_ints(steps, "steps")
    axis_list = list(range(len(begin))) if axis_list is None else axis_list
    step_list = [1] * len(begin) if step_list is None else step_list
    if not len(begin) == len(end) == len(axis_list) == len(step_list):
        raise Unsupported("starts, ends, axes and steps differ in length")
    positions = source_positions(data)
    done: set[int] = set()
    for first, last, axis, step in zip(begin, end, axis_list, step_list, strict=True):
        axis = user_axis(axis, data.rank)
        if axis in done:
            raise Unsupported(f"axis {axis} is sliced twice")
        done.add(axis)
        if step == 0:
            raise Unsupported(f"step 0 on axis {axis}")
        # Python's slice.indices clamps exactly as ONNX does (to [0, dim] going forward, [-1, dim - 1] back).
        kept = np.arange(*slice(first, last, step).indices(data.shape[axis]))
        if kept.size == 0:
            raise Unsupported(f"the slice of axis {axis} (size {data.shape[axis]}) from {first} to {last} "
                              f"step {step} is empty")
        positions = np.take(positions, kept, axis=axis)
    emit_movement(ctx, data, ctx.output_name, positions)


@onnx_op("Split", layout="transparent",
         constraints="equal parts, constant sizes (the split input) or num_outputs; each part a copy or a view")
def Split(ctx: ImportContext, input: Value, split: Value | None = None, *, axis: int = 0,
          num_outputs: int | None = None) -> None:
    node = ctx.node
    assert node is not None
    axis = user_axis(axis, input.rank)
    size = input.shape[axis]
    outputs = list(node.output)
    sizes = constant_ints(split, "split sizes")
    if sizes is None and num_outputs is not None:
        chunk = -(-size // num_outputs)
        sizes = [min(chunk, max(size - k * chunk, 0)) for k in range(num_outputs)]
    elif sizes is None:
        if size % len(outputs):
            raise Unsupported(f"axis {axis} of size {size} does not split into {len(outputs)} equal parts")
        sizes = [size // len(outputs)] * len(outputs)
    if len(sizes) != len(outputs) or sum(sizes) != size or min(sizes) <= 0:
        raise Unsupported(f"split sizes {sizes} do not divide axis {axis} of size {size} into {len(outputs)} "
                          "non-empty parts")
    positions = source_positions(input)
    first = 0
    for name, part in zip(outputs, sizes, strict=True):
        if name:
            emit_movement(ctx, input, name, np.take(positions, np.arange(first, first + part), axis=axis))
        first += part
