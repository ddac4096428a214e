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

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..ir import Graph, Node
from .kernel import InPlace, Kernel, activation_type, layer_weights, replaces_input
from .onnx_import import ONNX_IMPORTERS, OnnxImporter, Unsupported, onnx_layout_kind, onnx_op

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext

# What an op module needs, in one import (`from .base import ...`).
__all__ = ["ONNX_IMPORTERS", "OPS", "InPlace", "Kernel", "OnnxImporter", "Op", "Unsupported", "activation_type",
           "layer_weights", "onnx_layout_kind", "onnx_op", "op_of", "register", "replaces_input"]


# --- IR ops --------------------------------------------------------------------------------------

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
    # "fixed" (fixed_output_quant returns them), or "input_or_calibrated": calibrated in a float
    # model (the node gets attrs["output_calibrated"] = True), the input's otherwise (average pool).
    output_quant: ClassVar[str] = "calibrated"
    # With output_quant "input" (or "input_or_calibrated" taking the input's): can the kernel itself
    # requantize when a quantized model gives the output other parameters? (Otherwise a requantization
    # is inserted after it.)
    rescales_output: ClassVar[bool] = False
    # The precisions its kernels take (tinygen/quantize/precision.py): the layer's weights ("int8",
    # "int4": packed two per byte) and its activations ("int8", "int16"). The op's quantize reads the
    # layer's choice from node.attrs["precision"].
    weight_precisions: ClassVar[tuple[str, ...]] = ("int8",)
    activation_precisions: ClassVar[tuple[str, ...]] = ("int8",)
    # Keeps state across a sequence that ONNX does not expose (LSTM, GRU): calibration calls observe_ranges.
    has_state: ClassVar[bool] = False

    def fixed_output_quant(self, node: Node, graph: Graph) -> tuple[float, int]:
        raise NotImplementedError

    def runs_int16(self, node: Node) -> bool:
        """Can this layer run with int16 activations? (The op's precisions; an op may take int16 for some of
        its layers only: quantize/quantize.py keeps the others int8.)"""
        return "int16" in self.activation_precisions

    def int16_output_quant(self, node: Node, graph: Graph) -> tuple[float, int] | None:
        """The output parameters an int16 layer's arithmetic dictates (TFLite's 16x8 sigmoid: 1/32768), if any."""
        return None

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

    def index_map(self, node: Node, graph: Graph) -> np.ndarray | None:
        """For an op that only moves values of its one input (reshape, transpose, copy, ...): the input
        element (flat, in storage) of every output element, so passes/fold_copies.py can compose
        consecutive movements into one. None for every other op."""
        return None

    def moved_bytes(self, node: Node, graph: Graph) -> int:
        """Bytes a data-movement layer copies at run time (the report's data-movement cost)."""
        return 0

    def macs_note(self, node: Node, graph: Graph) -> str:
        """How the layer's MACs arise when the total alone hides it (a recurrence: per step x steps); "" if not."""
        return ""

    def parameter_inputs(self, node: Node) -> list[str]:
        """The constant inputs counted as the layer's parameters (weights and bias)."""
        return node.inputs[1:3] if self.has_weights else []

    def observe_ranges(self, node: Node, graph: Graph, samples: list[np.ndarray]) -> dict[str, tuple[float, float]]:
        """Calibration hook for ops with state ONNX does not expose (a recurrence's state at every step): given
        the float samples of input 0 (model layout, each batch 1) and the float IR, return the ranges of its
        outputs that differ from what onnxruntime shows, and keep internal ranges in node.attrs."""
        return {}

    # --- kernels: read from the table ---------------------------------------------------------------
    def candidates(self, node: Node, graph: Graph) -> list[Kernel]:
        """The kernels that can run this layer, fastest first."""
        weights, activations = layer_weights(node), activation_type(node, graph)
        return [kernel for kernel in self.kernels if kernel.weights == weights
                and kernel.activations in (activations, "") and kernel.applies(node, graph)]

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




def zero_filters(weights: np.ndarray, axis: int = 0) -> np.ndarray:
    """Per output channel (weights' `axis`): are all its weights 0? A dead channel outputs its requantized
    bias at every pixel (its storage, the kernels, the cost model and remove_constant_channels use that)."""
    return np.logical_not(np.moveaxis(weights, axis, 0).reshape(weights.shape[axis], -1).any(axis=1))
