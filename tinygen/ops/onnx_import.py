"""ONNX import functions (@onnx_op registers them) and the import context: what such a function sees of
the model being imported.

frontend/importer.py walks the ONNX graph and hands each node to its import function with an
ImportContext: the node's inputs as Values (shape, constant value, layout, the IR tensor behind it),
its attributes, and the means to add IR nodes and tensors. Ops see the importer through this only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..ir import Graph, Layout, Node, QuantParams, Tensor

if TYPE_CHECKING:
    from ..frontend.loader import LoadedModel


class Unsupported(Exception):
    """Raised by an import function: this node cannot be compiled, and why."""

    def __init__(self, reason: str, hint: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class OnnxImporter:
    op_type: str
    function: Callable[..., None]
    inputs: list[str]  # names of the positional (input) parameters
    required_inputs: int
    attributes: dict[str, Any]  # attribute name -> ONNX default
    constraints: str
    domain: str = ""
    aliases: list[str] = field(default_factory=list)
    refuses: bool = False  # registered only to explain why the op is not supported
    # How the op treats the layout of its feature maps (frontend/layout.py): "spatial" (it works on
    # NCHW / NCL feature maps, run channels-last), "transparent" (its inputs and outputs share a
    # layout, which a layout decision flows through), "sequence" (it works on the last ONNX axes, as
    # a matrix product or a layer norm does: its rank-3/4 operands are best stored in ONNX's order),
    # "reorder" (it only moves values -- Reshape, Transpose --: a "sequence" preference flows
    # through it to tensors nothing else decides) or "" (indifferent).
    layout: str = ""
    # An expansion, not an import: the function rewrites the node into standard ONNX nodes before the
    # model is shape-inferred (frontend/expand.py; onnxruntime's QOperator forms, ops/qoperator.py).
    expands: bool = False

    def __call__(self, ctx: ImportContext, node: Any) -> None:
        self.function(ctx, *ctx.input_values(node, self), **ctx.attribute_values(node, self))


ONNX_IMPORTERS: dict[tuple[str, str], OnnxImporter] = {}


LAYOUT_KINDS = ("", "spatial", "transparent", "sequence", "reorder")


def onnx_op(*op_types: str, constraints: str = "", domain: str = "", refuses: bool = False,
            layout: str = "", expands: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register an import function for one or more ONNX op types (see the module docstring)."""

    if layout not in LAYOUT_KINDS:
        raise ValueError(f"unknown layout kind {layout!r}; known: {LAYOUT_KINDS}")

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        parameters = list(inspect.signature(function).parameters.values())[1:]  # skip ctx
        inputs = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
        required = sum(1 for p in parameters
                       if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)
        attributes = {p.name: p.default for p in parameters if p.kind == p.KEYWORD_ONLY}
        for op_type in op_types:
            if (domain, op_type) in ONNX_IMPORTERS:
                raise ValueError(f"ONNX op {op_type!r} registered twice")
            ONNX_IMPORTERS[(domain, op_type)] = OnnxImporter(
                op_type, function, inputs, required, attributes, constraints, domain,
                [t for t in op_types if t != op_type], refuses, layout, expands)
        return function

    return decorate


# Rewrites of the ONNX node list before import, registered by op modules (@onnx_rewrite): a pattern of
# several ONNX nodes that one IR op computes (a decomposed LayerNormalization). Each takes the nodes, the
# constants (it may add its own) and the values that must stay visible (graph outputs), and returns the
# new node list; the importer applies them to its own copy, never to the user's model.
OnnxRewrite = Callable[[list[onnx.NodeProto], dict[str, np.ndarray], set[str]], list[onnx.NodeProto]]
ONNX_REWRITES: list[OnnxRewrite] = []


def onnx_rewrite(function: OnnxRewrite) -> OnnxRewrite:
    ONNX_REWRITES.append(function)
    return function


def onnx_layout_kind(op_type: str, domain: str = "") -> str:
    """"spatial", "transparent" or "" for an ONNX op type (its importer's declaration)."""
    importer = ONNX_IMPORTERS.get((domain, op_type))
    return importer.layout if importer is not None else ""


def node_attributes(node: onnx.NodeProto, importer: OnnxImporter) -> dict[str, Any]:
    """The node's attributes as the keyword arguments of its import (or expansion) function."""
    values = {}
    for attribute in node.attribute:
        # An attribute that shares its name with an input (ReduceMean's `axes` before opset
        # 18) is declared as `<name>_attr`.
        key = attribute.name if attribute.name not in importer.inputs else f"{attribute.name}_attr"
        if key not in importer.attributes:
            raise Unsupported(f"attribute '{attribute.name}' is not supported")
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, onnx.TensorProto):
            value = numpy_helper.to_array(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        values[key] = value
    return values


@dataclass
class QuantInfo:
    """The integers behind a constant that a quantized model dequantizes (DequantizeLinear of an
    initializer): kept so tinygen uses exactly the model's int8 weights and int32 biases."""

    values: np.ndarray  # int8 or int32, ONNX layout (uint8 already shifted to int8)
    scale: np.ndarray  # float32, one value or one per `axis` index
    zero_point: np.ndarray  # int32, same shape as scale
    axis: int | None  # ONNX axis of a per-axis quantization


@dataclass
class Value:
    """An ONNX value as an import function sees it."""

    name: str  # ONNX name
    shape: tuple[int, ...]  # ONNX (logical) shape
    dtype: np.dtype
    const: np.ndarray | None = None  # the value, when known at compile time (ONNX layout)
    layout: Layout = Layout.PLAIN  # storage layout of the IR tensor
    tensor: str | None = None  # the IR tensor holding it at run time
    quant: QuantInfo | None = None  # for constants of quantized models: the integers behind `const`

    @property
    def is_const(self) -> bool:
        return self.const is not None

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def runtime(self) -> str:
        """The IR tensor of a run-time value (an op that needs run-time data must not get a constant)."""
        if self.tensor is None:
            raise Unsupported(f"'{self.name}' is a constant where run-time data is expected")
        return self.tensor

    @property
    def physical_shape(self) -> tuple[int, ...]:
        return self.layout.physical_shape(self.shape)


class ImportContext:
    """What import functions use to read their node and add IR nodes and tensors."""

    def __init__(self, loaded: LoadedModel, graph: Graph, layouts: dict[str, Layout]):
        self.loaded = loaded
        self.graph = graph
        self.layouts = layouts
        self.values: dict[str, Value] = {}
        self.node: onnx.NodeProto | None = None  # the ONNX node being imported

    # --- reading the node --------------------------------------------------------------------
    def value(self, name: str) -> Value:
        if name in self.values:
            return self.values[name]
        if name in self.loaded.constants:
            array = self.loaded.constants[name]
            value = Value(name, tuple(array.shape), array.dtype, const=array)
            self.values[name] = value
            return value
        raise Unsupported(f"input '{name}' is neither produced by a node nor a constant")

    def input_values(self, node: onnx.NodeProto, importer: OnnxImporter) -> list[Value | None]:
        names = list(node.input)
        variadic = importer.inputs and importer.function.__code__.co_flags & 0x04
        if not variadic and len(names) > len(importer.inputs):
            extra = ", ".join(importer.inputs[len(names):] or names[len(importer.inputs):])
            raise Unsupported(f"{len(names)} inputs given, tinygen handles {len(importer.inputs)} ({extra})")
        present = [self.value(name) if name else None for name in names]
        if len([v for v in present[: importer.required_inputs] if v is not None]) < importer.required_inputs:
            raise Unsupported(f"needs {importer.required_inputs} inputs, got {len(names)}")
        return present

    def attribute_values(self, node: onnx.NodeProto, importer: OnnxImporter) -> dict[str, Any]:
        return node_attributes(node, importer)

    @property
    def output_name(self) -> str:
        """The ONNX name of the current node's (first) output."""
        assert self.node is not None
        return self.node.output[0]

    @property
    def node_name(self) -> str:
        assert self.node is not None
        return self.node.name or f"{self.node.op_type}_{self.node.output[0]}"

    # --- building IR ---------------------------------------------------------------------------
    def output_value(self, onnx_name: str) -> Value:
        """Declare an ONNX output of the current node as a run-time value backed by an IR tensor."""
        info = self.loaded.values[onnx_name]
        layout = self.layouts.get(onnx_name, Layout.PLAIN)
        tensor = Tensor(onnx_name, layout.physical_shape(info.shape), "float32",
                        onnx_shape=info.shape, layout=layout)
        self.graph.add_tensor(tensor)
        value = Value(onnx_name, info.shape, np.dtype(np.float32), layout=layout, tensor=onnx_name)
        self.values[onnx_name] = value
        return value

    def intermediate(self, hint: str, physical_shape: tuple[int, ...], layout: Layout = Layout.PLAIN,
                     onnx_shape: tuple[int, ...] | None = None) -> str:
        """A run-time tensor of tinygen's own (no ONNX counterpart)."""
        name = self.graph.unique_name(hint)
        self.graph.add_tensor(Tensor(name, physical_shape, "float32",
                                     onnx_shape=onnx_shape or physical_shape, layout=layout))
        return name

    def constant(self, hint: str, array: np.ndarray, dtype: str = "float32") -> str:
        """A compile-time tensor (already in the physical layout its consumer expects)."""
        name = self.graph.unique_name(hint)
        array = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        self.graph.add_tensor(Tensor(name, tuple(array.shape), dtype, data=array))
        return name

    def constant_from(self, value: Value, hint: str, transform: Callable[[np.ndarray], np.ndarray] | None = None,
                      exact: bool = True) -> str:
        """A compile-time tensor made from an ONNX constant by `transform`, a pure rearrangement
        (transpose, reshape, indexing) into the layout the consumer expects.

        When the constant comes from a quantized model (DequantizeLinear of integers), the IR
        tensor holds those integers rearranged the same way, with their scales, so the model's
        exact weights and biases are used. `exact=False` says the caller changed the values
        (e.g. scaled them), and the float values are used instead.
        """
        transform = transform or (lambda array: array)
        assert value.const is not None
        if value.quant is None or not exact:
            return self.constant(hint, transform(np.asarray(value.const, np.float32)))
        info = value.quant
        values = np.ascontiguousarray(transform(info.values))
        axis = None
        if info.axis is not None and info.scale.size > 1:
            axis = _moved_axis(info.values.shape, info.axis, transform)
        name = self.graph.unique_name(hint)
        self.graph.add_tensor(Tensor(name, tuple(values.shape), str(values.dtype), data=values,
                                     quant=QuantParams(info.scale, info.zero_point, axis)))
        return name

    def emit(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> Node:
        node = Node(self.node_name, op, inputs, outputs, attrs)
        self.graph.nodes.append(node)
        return node

    def alias(self, onnx_name: str, value: Value) -> None:
        """The ONNX value `onnx_name` is `value` (Identity, Dropout, and the like)."""
        self.values[onnx_name] = Value(onnx_name, value.shape, value.dtype, value.const, value.layout,
                                       value.tensor, value.quant)

    def set_constant(self, onnx_name: str, array: np.ndarray, quant: QuantInfo | None = None) -> None:
        self.values[onnx_name] = Value(onnx_name, tuple(array.shape), array.dtype, const=array, quant=quant)

    def placeholder(self, onnx_name: str) -> None:
        """After a failed node: keep importing the rest so every problem is found."""
        info = self.loaded.values.get(onnx_name)
        shape = info.shape if info else (1,)
        layout = self.layouts.get(onnx_name, Layout.PLAIN)
        if onnx_name not in self.graph.tensors:
            try:
                physical = layout.physical_shape(shape)
            except ValueError:
                physical, layout = shape, Layout.PLAIN
            self.graph.add_tensor(Tensor(onnx_name, physical, "float32", onnx_shape=shape, layout=layout))
        self.values[onnx_name] = Value(onnx_name, shape, np.dtype(np.float32), layout=layout,
                                       tensor=onnx_name)


def _moved_axis(shape: tuple[int, ...], axis: int, transform: Callable[[np.ndarray], np.ndarray]) -> int:
    """Where a rearrangement puts the axis `axis` of an array of `shape`."""
    marker_shape = [1] * len(shape)
    marker_shape[axis] = shape[axis]
    marker = np.broadcast_to(np.arange(shape[axis]).reshape(marker_shape), shape)
    moved = transform(marker)
    for candidate in range(moved.ndim):
        if moved.shape[candidate] == shape[axis] and np.all(
                np.moveaxis(moved, candidate, 0).reshape(shape[axis], -1) == np.arange(shape[axis])[:, None]):
            return candidate
    raise Unsupported("a per-channel quantized constant is rearranged across its channel axis")
