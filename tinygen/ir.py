"""The intermediate representation every pass reads and writes.

A Graph is a list of Nodes in execution order over named Tensors. Tensors are stored in the
*physical* layout the kernels use: feature maps channels-last (NHWC), as TFLM and CMSIS-NN do.
Each tensor remembers the logical shape it had in the ONNX model and the layout that maps one to
the other, so inputs and outputs can be offered in the model's own layout.

The same IR carries the model through every stage: after import its activations are float32 and
its weights float constants; after quantization activations are int8 with QuantParams, weights
int8, biases int32, and every node holds the integer parameters of its kernel in `node.params`.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BUFFER_ALIGNMENT = 4  # bytes: every arena buffer starts at a multiple (kernels read activations as int32)


def align_up(size: int, alignment: int = BUFFER_ALIGNMENT) -> int:
    """`size` rounded up to a multiple of `alignment` (the one rounding of sizes and offsets)."""
    return -(-size // alignment) * alignment


def kernel_dims(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A stored tensor as the C kernels see it (tg_dims, [N, H, W, C]): rank 4 as it is; rank 3 [N, L, C]
    (a 1-D feature map's rows, or plain [batch, tokens, features] data) as [N, 1, L, C]; rank 2 [N, C] as
    [N, 1, 1, C]; rank 1 [C] as [1, 1, 1, C]."""
    dims = [int(d) for d in shape]
    if len(dims) == 4:
        return dims[0], dims[1], dims[2], dims[3]
    if len(dims) == 3:
        return dims[0], 1, dims[1], dims[2]
    if len(dims) == 2:
        return dims[0], 1, 1, dims[1]
    return 1, 1, 1, (dims[0] if dims else 1)


def broadcast_dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape of rank <= 4 aligned to rank 4 for numpy-style broadcasting: leading axes of 1."""
    return (1,) * (4 - len(shape)) + tuple(shape)


class Layout(enum.Enum):
    """How a tensor's physical storage order relates to its ONNX shape."""

    PLAIN = "plain"  # stored exactly as ONNX orders it
    CHANNELS_LAST = "channels_last"  # ONNX [N, C, H, W] stored [N, H, W, C]; [N, C, L] stored [N, 1, L, C]

    def physical_shape(self, onnx_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self is Layout.PLAIN:
            return tuple(onnx_shape)
        if len(onnx_shape) == 4:
            n, c, h, w = onnx_shape
            return (n, h, w, c)
        if len(onnx_shape) == 3:
            n, c, length = onnx_shape
            return (n, 1, length, c)
        raise ValueError(f"channels-last layout needs a rank-3 or rank-4 shape, got {onnx_shape}")

    def to_physical(self, array: np.ndarray) -> np.ndarray:
        """Reorder an array given in ONNX layout (a leading batch axis included) into storage order."""
        if self is Layout.PLAIN:
            return array
        if array.ndim == 4:
            return np.ascontiguousarray(array.transpose(0, 2, 3, 1))
        if array.ndim == 3:
            return np.ascontiguousarray(array.transpose(0, 2, 1)[:, None, :, :])
        raise ValueError(f"channels-last layout needs rank 3 or 4, got {array.shape}")

    def to_onnx(self, array: np.ndarray, onnx_shape: tuple[int, ...]) -> np.ndarray:
        """Inverse of to_physical for a batch of N stored tensors (array's first axis is N, the
        rest in storage order, any shape): the batch in the model's layout.

        A batch of results is (N, *onnx_shape[1:]) when the ONNX shape starts with the batch of
        1, and (N, *onnx_shape) when it does not (an output like Flatten(axis=2) of [1, C, H, W],
        whose first axis is not the batch)."""
        count = array.shape[0]
        if self is not Layout.PLAIN and onnx_shape[0] != 1:
            # The first axis is not a batch of 1 (an Expand or Concat along it): each entry is one stored map.
            maps = self.to_onnx(array.reshape(count * onnx_shape[0], -1), (1, *onnx_shape[1:]))
            return maps.reshape((count, *onnx_shape))
        if self is Layout.PLAIN:
            sample = onnx_shape[1:] if onnx_shape and onnx_shape[0] == 1 else onnx_shape
            return array.reshape((count, *sample))
        stored = array.reshape((count, *self.physical_shape(onnx_shape)[1:]))
        if len(onnx_shape) == 4:
            return np.ascontiguousarray(stored.transpose(0, 3, 1, 2))
        return np.ascontiguousarray(stored[:, 0].transpose(0, 2, 1))


@dataclass
class QuantParams:
    """Affine quantization real = scale * (q - zero_point), per tensor or per channel.

    Scales are float32 because that is what TFLite and ONNX store, and the fixed-point
    multipliers derived from them must be computed from exactly those values.
    """

    scale: np.ndarray  # float32, shape (1,) or (channels,)
    zero_point: np.ndarray  # int32, same shape as scale
    axis: int | None = None  # physical axis of a per-channel quantization

    def __post_init__(self) -> None:
        self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int32))

    @classmethod
    def per_tensor(cls, scale: float, zero_point: int) -> QuantParams:
        return cls(np.array([scale], np.float32), np.array([zero_point], np.int32))

    @property
    def is_per_tensor(self) -> bool:
        return self.axis is None

    @property
    def scale_value(self) -> float:
        """The scale of a per-tensor quantization, as a Python float (exactly the float32 value)."""
        assert self.is_per_tensor, "per-channel quantization has no single scale"
        return float(self.scale[0])

    @property
    def zero_point_value(self) -> int:
        assert self.is_per_tensor, "per-channel quantization has no single zero point"
        return int(self.zero_point[0])

    def same_as(self, other: QuantParams | None) -> bool:
        return (
            other is not None
            and self.axis == other.axis
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": [float(s) for s in self.scale],
            "zero_point": [int(z) for z in self.zero_point],
            "axis": self.axis,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuantParams:
        return cls(np.array(data["scale"], np.float32), np.array(data["zero_point"], np.int32),
                   data["axis"])


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]  # physical shape as stored
    dtype: str  # "float32" | "int8" | "int32" | "int4" (weights; data holds int8 values in [-8, 7])
    data: np.ndarray | None = None  # set for constants, in physical layout
    quant: QuantParams | None = None
    onnx_shape: tuple[int, ...] | None = None  # logical shape in the source model
    layout: Layout = Layout.PLAIN

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        if self.dtype == "int4":  # packed two per byte (held unpacked in data, one int8 per value)
            return (self.size + 1) // 2
        return self.size * np.dtype(self.dtype).itemsize


def model_channel_axis(tensor: Tensor) -> int:
    """The channel axis, in the model's own layout, of an activation tinygen stores channels last: 1
    (ONNX's [N, C, ...], Layout.CHANNELS_LAST) or the last one (stored as the model has it: .tflite)."""
    return 1 if tensor.layout is Layout.CHANNELS_LAST else -1


@dataclass
class Node:
    name: str  # the source node's name, used in messages and comments (never as a C identifier)
    op: str  # name of a registered Op (see tinygen.ops)
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)  # what the op computes
    params: dict[str, Any] = field(default_factory=dict)  # integer kernel parameters (after quantize)

    @property
    def output(self) -> str:
        assert len(self.outputs) == 1, f"{self.name} has {len(self.outputs)} outputs"
        return self.outputs[0]


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    source: str = ""  # path of the model file, for messages
    onnx_outputs: list[str] = field(default_factory=list)  # ONNX names of the outputs, in order

    # --- lookups -----------------------------------------------------------------------------
    def producer(self, tensor: str) -> Node | None:
        for node in self.nodes:
            if tensor in node.outputs:
                return node
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [node for node in self.nodes if tensor in node.inputs]

    def is_graph_output(self, tensor: str) -> bool:
        return tensor in self.outputs

    def activations(self) -> Iterator[Tensor]:
        """Every non-constant tensor that is used: graph inputs and node outputs."""
        seen: set[str] = set()
        for name in self.inputs:
            seen.add(name)
            yield self.tensors[name]
        for node in self.nodes:
            for name in node.outputs:
                if name not in seen:
                    seen.add(name)
                    yield self.tensors[name]

    def copy(self) -> Graph:
        """A copy to rewrite: its own nodes, attributes and tensor records; constant arrays and node params
        (which rewrites of the planned graph do not change) shared."""
        tensors = {name: copy.copy(tensor) for name, tensor in self.tensors.items()}
        nodes = [Node(n.name, n.op, list(n.inputs), list(n.outputs), copy.deepcopy(n.attrs), n.params)
                 for n in self.nodes]
        return Graph(self.name, tensors, nodes, list(self.inputs), list(self.outputs), self.source,
                     list(self.onnx_outputs))

    # --- edits ---------------------------------------------------------------------------------
    def add_tensor(self, tensor: Tensor) -> Tensor:
        if tensor.name in self.tensors:
            raise ValueError(f"tensor {tensor.name!r} already exists")
        self.tensors[tensor.name] = tensor
        return tensor

    def unique_name(self, base: str) -> str:
        name, index = base, 1
        while name in self.tensors:
            name = f"{base}_{index}"
            index += 1
        return name

    def replace_uses(self, old: str, new: str) -> None:
        """Make every consumer (and the graph outputs) read `new` where they read `old`."""
        for node in self.nodes:
            node.inputs = [new if name == old else name for name in node.inputs]
        self.outputs = [new if name == old else name for name in self.outputs]

    def remove_node(self, node: Node) -> None:
        self.nodes.remove(node)

    def remove_unused_tensors(self) -> None:
        used = set(self.inputs) | set(self.outputs)
        for node in self.nodes:
            used.update(node.inputs)
            used.update(node.outputs)
        used.discard("")
        for name in [name for name in self.tensors if name not in used]:
            del self.tensors[name]


class IRError(AssertionError):
    """The IR broke an invariant: a bug in a pass, not a problem with the user's model."""


def verify(graph: Graph) -> None:
    """Check the invariants every pass must keep; passes call this between steps in debug runs."""
    defined = set(graph.inputs)
    for name in graph.inputs:
        if name not in graph.tensors:
            raise IRError(f"graph input {name!r} has no tensor")
    for node in graph.nodes:
        for name in node.inputs:
            if name == "":
                continue
            if name not in graph.tensors:
                raise IRError(f"{node.name}: input {name!r} has no tensor")
            if name not in defined and not graph.tensors[name].is_constant:
                raise IRError(f"{node.name}: input {name!r} is used before it is produced")
        for name in node.outputs:
            if name in defined:
                raise IRError(f"{node.name}: output {name!r} is produced twice")
            if name not in graph.tensors:
                raise IRError(f"{node.name}: output {name!r} has no tensor")
            if graph.tensors[name].is_constant:
                raise IRError(f"{node.name}: output {name!r} is a constant")
            defined.add(name)
    for name in graph.outputs:
        if name not in defined:
            raise IRError(f"graph output {name!r} is never produced")
    for tensor in graph.tensors.values():
        if tensor.data is not None and tuple(tensor.data.shape) != tuple(tensor.shape):
            raise IRError(f"constant {tensor.name!r}: data {tensor.data.shape} != shape {tensor.shape}")
