"""Decide the storage layout of every activation in the model.

Kernels work channels-last (NHWC), as TFLM and CMSIS-NN do, so ONNX feature maps are stored
transposed. Rank-4 tensors are always feature maps [N, C, H, W]. A rank-3 tensor is a 1-D
feature map [N, C, L] only when it is connected to a spatial op (Conv1D, pooling, BatchNorm)
through ops that do not care about layout; otherwise (e.g. [batch, tokens, features] feeding a
MatMul) it keeps ONNX's order. Everything else is stored as ONNX orders it.
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
    one_d_feature_maps = _rank3_feature_maps(loaded, rank)
    nhwc = _nhwc_values(loaded, rank)
    layouts = {}
    for name, r in rank.items():
        if (r == 4 and name not in nhwc) or (r == 3 and name in one_d_feature_maps):
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


def _rank3_feature_maps(loaded: LoadedModel, rank: dict[str, int]) -> set[str]:
    # Union-find over rank-3 values joined by layout-transparent ops.
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    seeds: set[str] = set()
    for node in loaded.graph.node:
        rank3 = [name for name in [*node.input, *node.output] if rank.get(name) == 3]
        if _kind(node) == "spatial":
            seeds.update(rank3)
        elif _kind(node) == "transparent":
            for a, b in itertools.pairwise(rank3):
                union(a, b)
    roots = {find(name) for name in seeds}
    return {name for name in rank if rank[name] == 3 and find(name) in roots}
