"""Decide the storage layout of every activation in the model.

Kernels work channels-last (NHWC), as TFLM and CMSIS-NN do, so ONNX feature maps are stored
transposed. Tensors of rank 3 and 4 form groups joined by layout-transparent ops (elementwise
ops, Softmax, ...); each group is decided as a whole:
  * a group touching a spatial op (Conv, pooling, BatchNorm) holds feature maps, [N, C, H, W] or
    the 1-D [N, C, L], stored channels-last;
  * otherwise a group touching a "sequence" op (a MatMul, a LayerNormalization: they work on the
    last ONNX axes) keeps ONNX's order -- [batch, tokens, features], and attention's rank-4
    [batch, heads, tokens, features] --, and so does a rank-4 group that reaches such a group only
    through Reshape / Transpose (attention's [batch, tokens, heads, features] between the
    projection and the head transpose), so those reshapes stay free;
  * any other rank-3 group keeps ONNX's order, any other rank-4 group is a feature map (except
    NHWC data in ONNX itself, below).
Everything else is stored as ONNX orders it. Whatever the decision, the import functions insert
the transposes a consumer needs, so it decides speed, never correctness.
"""

from __future__ import annotations

import itertools

import onnx

from ..ir import Layout
from ..ops.base import onnx_layout_kind
from .loader import LoadedModel


def _kind(node: onnx.NodeProto) -> str:
    """"spatial", "transparent" or "": what the op's import function declares (@onnx_op(layout=...))."""
    return onnx_layout_kind(node.op_type, node.domain if node.domain != "ai.onnx" else "")


def assign_layouts(loaded: LoadedModel) -> dict[str, Layout]:
    rank = {name: len(info.shape) for name, info in loaded.values.items()}
    feature_maps = _feature_map_groups(loaded, rank)
    nhwc = _nhwc_values(loaded, rank)
    layouts = {}
    for name, r in rank.items():
        if r in (3, 4) and name in feature_maps and name not in nhwc:
            layouts[name] = Layout.CHANNELS_LAST
        else:
            layouts[name] = Layout.PLAIN
    return layouts


NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


def _nhwc_values(loaded: LoadedModel, rank: dict[str, int]) -> set[str]:
    """Rank-4 values that hold NHWC data in ONNX itself (TensorFlow exports without
    inputs_as_nchw): read only by Transpose(0, 3, 1, 2), or written by Transpose(0, 2, 3, 1) and
    read by no spatial op. Stored as they are, they already lie in channels-last order, so those
    Transposes cost nothing."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    producer: dict[str, onnx.NodeProto] = {}
    for node in loaded.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
        for name in node.output:
            producer[name] = node
    found = set()
    for name, r in rank.items():
        if r != 4:
            continue
        readers = consumers.get(name, [])
        if readers and all(n.op_type == "Transpose" and _perm(n) == NHWC_TO_NCHW for n in readers):
            found.add(name)
        source = producer.get(name)
        if (source is not None and source.op_type == "Transpose" and _perm(source) == NCHW_TO_NHWC
                and not any(_kind(n) == "spatial" for n in readers)):
            found.add(name)
    return found


def _perm(node: onnx.NodeProto) -> list[int] | None:
    for attribute in node.attribute:
        if attribute.name == "perm":
            return list(attribute.ints)
    return None


def _feature_map_groups(loaded: LoadedModel, rank: dict[str, int]) -> set[str]:
    """The rank-3 and rank-4 values stored channels-last (the module docstring's rule)."""
    # Union-find over values of equal rank joined by layout-transparent ops.
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    spatial: set[str] = set()
    sequence: set[str] = set()
    reorders: list[list[str]] = []
    for node in loaded.graph.node:
        values = [name for name in [*node.input, *node.output] if rank.get(name) in (3, 4)]
        kind = _kind(node)
        if kind == "spatial":
            spatial.update(values)
        elif kind == "sequence":
            sequence.update(values)
        elif kind == "reorder":
            reorders.append([name for name in [*node.input, *node.output] if name in rank])
        elif kind == "transparent":
            for r in (3, 4):
                same = [name for name in values if rank[name] == r]
                for a, b in itertools.pairwise(same):
                    parent[find(a)] = find(b)
    spatial_groups = {find(name) for name in spatial}
    plain_groups = {find(name) for name in sequence} - spatial_groups
    # The sequence preference flows through Reshape / Transpose into groups nothing else decides.
    changed = True
    while changed:
        changed = False
        for names in reorders:
            if any(find(name) in plain_groups for name in names):
                for name in names:
                    group = find(name)
                    if rank[name] == 4 and group not in spatial_groups and group not in plain_groups:
                        plain_groups.add(group)
                        changed = True
    return {name for name in rank
            if (rank[name] == 3 and find(name) in spatial_groups)
            or (rank[name] == 4 and find(name) not in plain_groups)}
