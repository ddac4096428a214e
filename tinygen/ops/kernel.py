"""How an op runs: its C kernels as data (Kernel) and how a kernel's output may overlap its inputs
(InPlace). Every other part of the compiler reads these tables (ops/base.py Op.kernels)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ir import Graph, Node


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


def layer_weights(node: Node) -> str:
    """The precision of a layer's weights: "int8", or "int4" where the precision plan chose it
    (tinygen/quantize/precision.py writes node.attrs["precision"])."""
    return str(node.attrs.get("precision", {}).get("weights", "int8"))


def layer_activations(node: Node) -> str:
    """The activation precision the plan chose for a layer: "int8", or "int16" (node.attrs["precision"])."""
    return str(node.attrs.get("precision", {}).get("activations", "int8"))


def activation_type(node: Node, graph: Graph) -> str:
    """The activation type a layer computes in: "int16" when its output is int16 (TFLite's 16x8 scheme:
    int16 activations, int8 weights), "int8" otherwise (and before quantization)."""
    return "int16" if graph.tensors[node.outputs[0]].dtype == "int16" else "int8"


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
    # The weights it reads: "int8", or "int4" packed two per byte (the layer's precision picks the kernels).
    weights: str = "int8"
    # The activation type of the layers it runs ("int8", or "int16": the 16x8 kernels, *_s16), read from
    # the layer's output (activation_type); "" for a kernel that converts between the two.
    activations: str = "int8"

    @property
    def key(self) -> str:
        """Stable identifier of the function and mode: "tg_conv_1x1_s8" or "tg_conv_1x1_s8/4px"."""
        return f"{self.function}/{self.mode}" if self.mode else self.function

    @property
    def source(self) -> str:
        return f"{self.function}.c"
