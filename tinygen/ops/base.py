"""What an operation is to tinygen, and the two registries ops add themselves to.

Each op module in this package defines
  * ONNX import functions, decorated with @onnx_op("OnnxName"): their positional parameters
    are the node's inputs and their keyword-only parameters are the ONNX attribute names with the
    ONNX defaults, so an attribute tinygen does not know is reported, never silently ignored;
  * one or more Op subclasses, decorated with @register: what the rest of the compiler needs to know
    about the IR op (class attributes: its kernel table, whether it has weights, ...), how it is
    quantized, its golden integer kernel (numpy), the C call that runs it and its MACs.
An op module sees only the IR, the arithmetic helpers (tinygen.arith, tinygen.cformat), the import
context (ops/onnx_import.py) and the emit context (ops/emit.py). Adding an op: docs/adding-an-op.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..ir import Graph, Node

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext


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


def _always(node: Node, graph: Graph) -> bool:
    return True


def _no_bytes(node: Node, graph: Graph) -> int:
    return 0


def _no_overlap(node: Node, graph: Graph) -> list[InPlace]:
    return []


def replaces_input(node: Node, graph: Graph) -> list[InPlace]:
    """The kernel reads each element (or row) of input 0 before it writes the output's, in order: the
    output may take exactly the input's place (the LUT, PRelu and softmax kernels' in-place contracts)."""
    return [InPlace(0, 0, exact=True)]


@dataclass(frozen=True)
class Kernel:
    """One way to run a layer: a C function of the kernel library, in one of its modes.

    The function is defined in firmware/tinygen_kernels/src/<function>.c (one function per file, named
    after it) and declared in a public header. The DSP variants choose how they work from the scratch
    they are given (8- or 4-pixel blocks), so one function can appear with several modes. An Op lists its
    kernels fastest first (Op.kernels); the planner picks one per layer among those that apply
    (plan/variants.py) and stores its `key` in node.attrs["variant"] and in the output folder's manifest,
    where codegen, the report, the benchmark and the kernel copier read it."""

    function: str  # the C function, e.g. "tg_conv_1x1_s8"
    params: str  # its parameter struct, e.g. "tg_conv_params"
    mode: str = ""  # short name of the mode when the function has several ("4px"), else ""
    note: str = ""  # what the mode means, for reports ("4-pixel blocks")
    # Does it take this layer? The compile-time twin of the C wrapper's rule (tests/dsp checks both agree).
    applies: Callable[[Node, Graph], bool] = _always
    # Arena scratch it needs: its C `<function>_get_buffer_size` (tests/dsp checks both agree).
    scratch: Callable[[Node, Graph], int] = _no_bytes
    # Estimated Cortex-M4 instructions beyond the fastest kernel that applies (0 for that one).
    cost: Callable[[Node, Graph], int] = _no_bytes
    # How its output may overlap its inputs (its processing order; the header's in-place contract).
    in_place: Callable[[Node, Graph], list[InPlace]] = _no_overlap

    @property
    def key(self) -> str:
        """Stable identifier of the function and mode: "tg_conv_1x1_s8" or "tg_conv_1x1_s8/4px"."""
        return f"{self.function}/{self.mode}" if self.mode else self.function

    @property
    def source(self) -> str:
        return f"{self.function}.c"

    @property
    def label(self) -> str:
        return f"{self.function} ({self.note})" if self.note else self.function


class Op:
    """An IR operation. Subclasses are stateless; node-specific data lives in Node.attrs/params.

    What the rest of the compiler needs to know about an op is declared here, as class attributes,
    instead of in op-name lists elsewhere."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    # The C kernels that can run this op, fastest first (empty: no code, e.g. an alias or a view).
    kernels: ClassVar[tuple[Kernel, ...]] = ()
    # The output is the input's storage reinterpreted (reshape): no code, no arena of its own.
    is_alias: ClassVar[bool] = False
    # Can a following Relu/Clip be folded into this op's output clamp?
    accepts_activation: ClassVar[bool] = False
    # Input 1 holds constant weights and input 2 a constant bias (counted as parameters; a following
    # Add of a constant per output channel folds into the bias: passes/fuse_bias_add.py).
    has_weights: ClassVar[bool] = False
    # Axis of the output channel in the weight tensor (input 1): a following BatchNormalization folds
    # into the weights and bias (passes/fold_batchnorm.py).
    weight_channel_axis: ClassVar[int | None] = None
    # Its window has pads that absorb a preceding zero Pad (passes/fuse_pad.py).
    absorbs_pad: ClassVar[bool] = False
    # Can run in row bands of its output (patch-based execution, plan/patches.py): a spatial op whose
    # output rows depend on a window of input rows (node.attrs kernel/stride/dilation/pads), or an
    # elementwise one.
    patchable: ClassVar[bool] = False
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

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        """Describe the C call of this node (the template lays it out); ctx.kernel is the chosen kernel."""
        raise NotImplementedError

    def macs(self, node: Node, graph: Graph) -> int:
        return 0

    # --- kernels: read from the table ---------------------------------------------------------------
    def candidates(self, node: Node, graph: Graph) -> list[Kernel]:
        """The kernels that can run this layer, fastest first."""
        return [kernel for kernel in self.kernels if kernel.applies(node, graph)]

    def kernel(self, node: Node, graph: Graph) -> Kernel | None:
        """The kernel this layer runs: the one node.attrs["variant"] names, else the fastest that applies."""
        candidates = self.candidates(node, graph)
        chosen = node.attrs.get("variant")
        return next((k for k in candidates if k.key == chosen), candidates[0] if candidates else None)

    def scratch_bytes(self, node: Node, graph: Graph) -> int:
        """Kernel scratch of the layer's kernel; planned in the arena."""
        kernel = self.kernel(node, graph)
        return kernel.scratch(node, graph) if kernel is not None else 0

    def in_place(self, node: Node, graph: Graph) -> list[InPlace]:
        """How the output may overlap inputs with the layer's kernel. Only quantized nodes have kernels,
        so only nodes with params offer any; the planner uses a relation only where the input dies at
        this node."""
        kernel = self.kernel(node, graph)
        return kernel.in_place(node, graph) if kernel is not None and node.params else []

    def views(self, node: Node, graph: Graph) -> dict[str, tuple[str, int]]:
        """Tensors of this node stored inside another tensor's bytes, name -> (that tensor, byte offset):
        the row bands of patch-based execution (ops/patches.py). Such ops run no code."""
        return {}


OPS: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    if cls.name in OPS:
        raise ValueError(f"op {cls.name!r} registered twice")
    OPS[cls.name] = cls()
    return cls


def op_of(node: Node) -> Op:
    return OPS[node.op]


def onnx_layout_kind(op_type: str, domain: str = "") -> str:
    """"spatial", "transparent" or "" for an ONNX op type (its importer's declaration)."""
    importer = ONNX_IMPORTERS.get((domain, op_type))
    return importer.layout if importer is not None else ""


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
    # How the op treats the layout of its feature maps (frontend/layout.py): "spatial" (it works on
    # NCHW / NCL feature maps, run channels-last), "transparent" (its inputs and outputs share a
    # layout, which a rank-3 layout decision flows through) or "" (indifferent).
    layout: str = ""

    def __call__(self, ctx: ImportContext, node: Any) -> None:
        self.function(ctx, *ctx.input_values(node, self), **ctx.attribute_values(node, self))


ONNX_IMPORTERS: dict[tuple[str, str], OnnxImporter] = {}


LAYOUT_KINDS = ("", "spatial", "transparent")


def onnx_op(*op_types: str, constraints: str = "", domain: str = "", refuses: bool = False,
            layout: str = "") -> Callable[[Callable[..., None]], Callable[..., None]]:
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
                [t for t in op_types if t != op_type], refuses, layout)
        return function

    return decorate
