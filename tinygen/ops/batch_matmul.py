"""Matrix product of two tensors computed at run time (attention's Q K^T and A V): ONNX MatMul when the
second operand is not a constant matrix (ops/fully_connected.py takes data x constant 2-D matrix).

numpy semantics: [..., M, K] x [..., K, N] -> [..., M, N], leading axes broadcast (up to rank 4: two
batch axes), a rank-1 operand is a row (A) or a column (B) vector. Either operand may be a constant of
any rank (quantized per tensor, as TFLite's BATCH_MATMUL takes it).

Arithmetic as TFLite's int8 BATCH_MATMUL: acc = sum_k (a + lhs_offset)(b + rhs_offset) in int32,
requantized once by s_a s_b / s_out (per tensor; times `scale`, a positive constant factor that
followed the product, passes/fuse_matmul_scale.py), clamped. Each product is at most 255 * 255 in
magnitude (|q - zp| <= 255), so K products fit in int32 while K * max|a - zp_a| * max|b - zp_b| < 2^31
(K <= 33,025 in the worst case); quantize checks the exact bound.

Addressing instead of copies: each operand is read through element strides over a 4-D view of the
tensor it comes from ([batch0, batch1, rows, depth] for A, [batch0, batch1, depth, columns] for B, 0
along a broadcast batch axis), and the output is written through strides too. A Transpose feeding an
operand (K^T, the heads' [B, T, H, D] -> [B, H, T, D]) or consuming the output (back to [B, T, H, D])
becomes those strides (passes/fold_matmul_transpose.py): attention runs without transposes.
node.attrs: `lhs_view`/`rhs_view` the 4-D shape of the stored operand, `lhs_perm`/`rhs_perm` the
permutation of that view giving the operand's 4-D logical shape; `out_perm` the permutation the
output is stored in (identity: [batch0, batch1, M, N] row-major). A data movement folded into the
product (passes/fold_matmul_transpose.py) leaves explicit element strides instead: `lhs_strides` /
`rhs_strides` / `out_strides` over the logical axes, and `lhs_start` / `rhs_start`, the element the
operand starts at (q, k and v as slices of one projection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..cformat import c_init
from ..errors import TinygenError
from ..ir import Graph, Layout, Node
from .base import Kernel, Op, Unsupported, register
from .common import activation_range, input_quant, output_quant
from .elementwise import quantize_constant_operand

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

IDENTITY = [0, 1, 2, 3]


def in_onnx_order(ctx: ImportContext, value: Value) -> str:
    """The IR tensor of a run-time value with its elements in ONNX's order: a channels-last feature map
    (a tensor also used by a Conv or a pool) is transposed back first (a copy)."""
    source = value.runtime
    if value.layout is Layout.PLAIN:
        return source
    plain = ctx.intermediate(f"{value.name}_onnx_order", value.shape, Layout.PLAIN, value.shape)
    # Channels-last storage seen as 4-D [N, H, W, C] (a 1-D map: [N, 1, L, C]) -> [N, C, H, W].
    ctx.emit("transpose", [source], [plain], perm=[0, 3, 1, 2])
    return plain


def _view(shape: tuple[int, ...], role: str) -> list[int]:
    """An operand's logical 4-D shape: leading batch axes of 1; a vector becomes a row (A) or column (B)."""
    if len(shape) == 1:
        shape = (1, shape[0]) if role == "lhs" else (shape[0], 1)
    return [1] * (4 - len(shape)) + list(shape)


def import_matmul(ctx: ImportContext, A: Value, B: Value) -> None:
    """MatMul whose operands are both computed at run time, or one is a constant other than a 2-D matrix
    applied to the data."""
    if A.const is not None and B.const is not None:
        raise Unsupported("both operands are constants that were not folded")
    if max(A.rank, B.rank) > 4:
        raise Unsupported(f"operands of rank {A.rank} and {B.rank}; tinygen handles rank <= 4 "
                          "(two batch axes)")
    if A.rank == 1 and B.rank == 1:
        raise Unsupported("a product of two vectors is a scalar; tinygen needs a tensor output")
    lhs, rhs = _view(A.shape, "lhs"), _view(B.shape, "rhs")
    if lhs[3] != rhs[2]:
        raise Unsupported(f"operands {list(A.shape)} and {list(B.shape)}: the inner dimensions differ")
    for a, b in zip(lhs[:2], rhs[:2], strict=True):
        if a != b and 1 not in (a, b):
            raise Unsupported(f"operands {list(A.shape)} and {list(B.shape)}: the batch axes do not broadcast")
    operands = [in_onnx_order(ctx, value) if value.const is None
                else ctx.constant_from(value, "operand")
                for value in (A, B)]
    emit_in_onnx_order(ctx, "batch_matmul", operands, activation=None, lhs_view=lhs, lhs_perm=list(IDENTITY),
                       rhs_view=rhs, rhs_perm=list(IDENTITY), out_perm=list(IDENTITY))


def emit_in_onnx_order(ctx: ImportContext, op: str, inputs: list[str], **attrs: object) -> None:
    """Emit `op` computing the node's output in ONNX's order; when that output is a feature map (it
    feeds a Conv or a pool), into a tensor of its own, transposed to channels-last after it."""
    out = ctx.output_value(ctx.output_name)
    if out.layout is Layout.PLAIN:
        ctx.emit(op, inputs, [out.runtime], **attrs)
        return
    target = ctx.intermediate(f"{out.name}_onnx_order", out.shape, Layout.PLAIN, out.shape)
    ctx.emit(op, inputs, [target], **attrs)
    shape = out.shape
    view = list(shape) if len(shape) == 4 else [shape[0], shape[1], 1, shape[2]]
    ctx.emit("transpose", [target], [out.runtime], perm=[0, 2, 3, 1], view=view)


# --- geometry --------------------------------------------------------------------------------------

def _logical(view: list[int], perm: list[int]) -> list[int]:
    return [view[p] for p in perm]


def _contiguous_strides(shape: list[int]) -> list[int]:
    strides, step = [0, 0, 0, 0], 1
    for axis in range(3, -1, -1):
        strides[axis] = step
        step *= shape[axis]
    return strides


def geometry(node: Node) -> tuple[list[int], int, list[int], list[int], list[int]]:
    """(output [B0, B1, M, N], K, lhs strides [b0, b1, m, k], rhs strides [b0, b1, k, n], output
    strides [b0, b1, m, n]) in elements; 0 along a broadcast batch axis. Strides a pass gave explicitly
    (`lhs_strides`, ..., passes/fold_matmul_transpose.py) replace those of the views."""
    a = _logical(node.attrs["lhs_view"], node.attrs["lhs_perm"])
    b = _logical(node.attrs["rhs_view"], node.attrs["rhs_perm"])
    out = [max(a[0], b[0]), max(a[1], b[1]), a[2], b[3]]

    def strides(role: str, logical: list[int]) -> list[int]:
        if f"{role}_strides" in node.attrs:
            result = list(node.attrs[f"{role}_strides"])
        else:
            source = _contiguous_strides(node.attrs[f"{role}_view"])
            result = [source[p] for p in node.attrs[f"{role}_perm"]]
        for axis in (0, 1):
            if logical[axis] == 1:
                result[axis] = 0
        return result

    if "out_strides" in node.attrs:
        out_strides = list(node.attrs["out_strides"])
    else:  # the output is stored as the [B0, B1, M, N] product permuted by out_perm, row-major
        stored_strides = _contiguous_strides(_logical(out, node.attrs["out_perm"]))
        out_strides = [0, 0, 0, 0]
        for position, axis in enumerate(node.attrs["out_perm"]):
            out_strides[axis] = stored_strides[position]
    return out, a[3], strides("lhs", a), strides("rhs", b), out_strides


def operand_shapes(node: Node) -> tuple[list[int], list[int]]:
    """The operands' logical 4-D shapes: [b0, b1, M, K] and [b0, b1, K, N]."""
    return (_logical(node.attrs["lhs_view"], node.attrs["lhs_perm"]),
            _logical(node.attrs["rhs_view"], node.attrs["rhs_perm"]))


def positions(shape: list[int], strides: list[int], start: int = 0) -> np.ndarray:
    """The storage position of every element of a 4-D `shape` read through `strides` from `start`."""
    index = np.full([1, 1, 1, 1], start, np.int64)
    for axis, (size, stride) in enumerate(zip(shape, strides, strict=True)):
        index = index + (np.arange(size, dtype=np.int64) * stride).reshape([-1 if k == axis else 1 for k in range(4)])
    return index


def _largest_offset_magnitude(graph: Graph, name: str, offset: int) -> int:
    """max |q + offset| over the values an operand can take (a constant's own values, else all of int8)."""
    data = graph.tensors[name].data
    values = data.astype(np.int64) if data is not None else np.array([-128, 127])
    return int(np.max(np.abs(values + offset)))


@register
class BatchMatMul(Op):
    name = "batch_matmul"
    summary = "matrix product of two int8 tensors with broadcast batch axes, TFLite int8 BATCH_MATMUL arithmetic"
    kernels = (Kernel("tg_batch_matmul_s8", "tg_batch_matmul_params"),)
    accepts_activation = True

    def quantize(self, node: Node, graph: Graph) -> None:
        for name in node.inputs:
            quantize_constant_operand(graph, name)
        s1, zp1 = input_quant(graph, node, 0)
        s2, zp2 = input_quant(graph, node, 1)
        so, zpo = output_quant(graph, node)
        _, depth, *_ = geometry(node)
        bound = (depth * _largest_offset_magnitude(graph, node.inputs[0], -zp1)
                 * _largest_offset_magnitude(graph, node.inputs[1], -zp2))
        if bound >= 2**31:
            raise TinygenError(f"node '{node.name}': a matrix product over {depth} terms could overflow its "
                               f"int32 accumulator (bound {bound}); the int8 kernel handles up to 33,025 terms")
        # `scale`: a constant factor folded in after the product (passes/fuse_matmul_scale.py)
        real = np.float64(s1) * np.float64(s2) * np.float64(node.attrs.get("scale", 1.0)) / np.float64(so)
        multiplier, shift = arith.quantize_multiplier(real)
        act_min, act_max = activation_range(node, graph)
        node.params = {"lhs_offset": -zp1, "rhs_offset": -zp2, "output_offset": zpo,
                       "output_multiplier": multiplier, "output_shift": shift,
                       "act_min": act_min, "act_max": act_max}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p, a = node.params, node.attrs
        out, _, lhs_strides, rhs_strides, out_strides = geometry(node)
        lhs_shape, rhs_shape = operand_shapes(node)
        lhs = inputs[0].reshape(-1)[positions(lhs_shape, lhs_strides, a.get("lhs_start", 0))]
        rhs = inputs[1].reshape(-1)[positions(rhs_shape, rhs_strides, a.get("rhs_start", 0))]
        acc = np.matmul(lhs.astype(np.int64) + p["lhs_offset"], rhs.astype(np.int64) + p["rhs_offset"])  # exact
        result = arith.requantize(acc, p["output_multiplier"], p["output_shift"], p["output_offset"],
                                  p["act_min"], p["act_max"])
        stored = np.zeros(graph.tensors[node.outputs[0]].size, np.int8)
        stored[positions(out, out_strides)] = np.broadcast_to(result, out)
        return [stored.reshape(graph.tensors[node.outputs[0]].shape)]

    def macs(self, node: Node, graph: Graph) -> int:
        out, depth, *_ = geometry(node)
        return int(np.prod(out)) * depth

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        out, depth, lhs, rhs, stored = geometry(node)
        fields = [("output", c_init(out)), ("depth", str(depth)), ("lhs_strides", c_init(lhs)),
                  ("rhs_strides", c_init(rhs)), ("output_strides", c_init(stored))] + [
            (key, str(int(p[key]))) for key in ("lhs_offset", "rhs_offset", "output_offset",
                                                "output_multiplier", "output_shift")
        ] + [("activation_min", str(p["act_min"])), ("activation_max", str(p["act_max"]))]
        operands = []
        for index, role in enumerate(("lhs", "rhs")):
            pointer, start = ctx.pointer(node.inputs[index], role), node.attrs.get(f"{role}_start", 0)
            operands.append(f"({pointer} + {start})" if start else pointer)  # a folded slice (q, k, v of one tensor)
        return ctx.call(fields, [*operands, ctx.pointer(node.outputs[0])])
