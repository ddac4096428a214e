"""What an operation is to tinygen, and the two registries ops add themselves to.

Each op module in this package defines
  * ONNX import functions, decorated with @onnx_op("OnnxName"): their positional parameters
    are the node's inputs and their keyword-only parameters are the ONNX attribute names with the
    ONNX defaults, so an attribute tinygen does not know is reported, never silently ignored;
  * one or more Op subclasses, decorated with @register: how the IR op is quantized, its golden
    integer kernel (numpy), the C call that runs it, its MACs and scratch memory.
Adding an op means adding one module here, its C kernel in firmware/, and its tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..ir import Graph, Node

if TYPE_CHECKING:
    from ..codegen.layers import CLayer, LayerEmitter
    from ..frontend.importer import ImportContext


class Unsupported(Exception):
    """Raised by an import function: this node cannot be compiled, and why."""

    def __init__(self, reason: str, hint: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


# --- IR ops --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InPlace:
    """A relation between an input and the output of a node that its kernel's processing order
    makes safe: the output may start `delta` bytes below the input (delta < 0: above it) and
    overlap it -- exactly there (`exact`), or anywhere lower (the order is monotone: every write
    lands below every byte still to be read). The C kernel documents that order in its header."""

    input: int  # index into node.inputs
    delta: int
    exact: bool = False
    output: int = 0  # index into node.outputs


@dataclass(frozen=True)
class Variant:
    """One way to run a layer: its kernel's mode for a given scratch size (the DSP variants pick how
    they work from the scratch they get, e.g. 8- or 4-pixel blocks), and what it costs."""

    name: str  # e.g. "8-pixel blocks"
    scratch: int  # bytes of arena scratch it needs
    cost: int  # estimated instructions (Cortex-M4) beyond the layer's fastest variant


class Op:
    """An IR operation. Subclasses are stateless; node-specific data lives in Node.attrs/params."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    kernel_sources: ClassVar[tuple[str, ...]] = ()  # files in firmware/tinygen_kernels/src
    # The output is the input's storage reinterpreted (reshape): no code, no arena of its own.
    is_alias: ClassVar[bool] = False
    # Can a following Relu/Clip be folded into this op's output clamp?
    accepts_activation: ClassVar[bool] = False
    # Axis of the output channel in the weight tensor (input 1), for BatchNorm folding.
    weight_channel_axis: ClassVar[int | None] = None
    # How the output's quantization is chosen: "calibrated" from observed ranges, "input" to
    # reuse the (first) input's parameters (the op moves values without changing them), or
    # "fixed" (fixed_output_quant returns them).
    output_quant: ClassVar[str] = "calibrated"
    # With output_quant "input": can the kernel itself requantize when a quantized model gives
    # the output other parameters? (Otherwise a requantization is inserted after it.)
    rescales_output: ClassVar[bool] = False

    def fixed_output_quant(self, node: Node, graph: Graph) -> tuple[float, int]:
        raise NotImplementedError

    def quantize(self, node: Node, graph: Graph) -> None:
        """Turn float constants into integer ones and fill node.params (activations are quantized)."""

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """The golden integer kernel: int8 inputs (batch 1, physical layout) -> int8 outputs."""
        raise NotImplementedError

    def emit(self, node: Node, graph: Graph, emitter: LayerEmitter) -> CLayer:
        """Describe the C call of this node (the template lays it out)."""
        raise NotImplementedError

    def macs(self, node: Node, graph: Graph) -> int:
        return 0

    def scratch_bytes(self, node: Node, graph: Graph) -> int:
        """Kernel scratch needed by the largest variant of the kernel; planned in the arena."""
        return 0

    def variants(self, node: Node, graph: Graph) -> list[Variant]:
        """The ways to run this layer with different scratch, fastest first (empty: only one). The
        code generator picks one per layer (plan/variants.py) and records it in node.attrs["variant"];
        scratch_bytes and emit follow that choice."""
        return []

    def views(self, node: Node, graph: Graph) -> dict[str, tuple[str, int]]:
        """Tensors of this node stored inside another tensor's bytes, name -> (that tensor, byte offset):
        the row bands of patch-based execution (ops/patches.py). Such ops run no code."""
        return {}

    def in_place(self, node: Node, graph: Graph) -> list[InPlace]:
        """How the output may overlap inputs (none by default). Only quantized nodes have kernels,
        so only nodes with params offer any; the planner uses a relation only where the input
        dies at this node."""
        return []


OPS: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    if cls.name in OPS:
        raise ValueError(f"op {cls.name!r} registered twice")
    OPS[cls.name] = cls()
    return cls


def op_of(node: Node) -> Op:
    return OPS[node.op]


# --- ONNX import functions -------------------------------------------------------------------

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

    def __call__(self, ctx: ImportContext, node: Any) -> None:
        self.function(ctx, *ctx.input_values(node, self), **ctx.attribute_values(node, self))


ONNX_IMPORTERS: dict[tuple[str, str], OnnxImporter] = {}


def onnx_op(*op_types: str, constraints: str = "", domain: str = "",
            refuses: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register an import function for one or more ONNX op types (see the module docstring)."""

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
                [t for t in op_types if t != op_type], refuses)
        return function

    return decorate
