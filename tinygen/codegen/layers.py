"""What an op tells the code generator about one layer, and the helper it uses to say it.

An Op's `emit` returns a CLayer: the kernel to call, the fields of its static const parameter
struct, and the pointer arguments. The template lays these out; it computes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cnames import SymbolTable, c_comment
from ..ir import Graph, Tensor
from ..plan import MemoryPlan
from .cformat import C_TYPES, c_dims


@dataclass
class CArray:
    symbol: str
    ctype: str
    values: np.ndarray
    comment: str


@dataclass
class CLayer:
    function: str  # kernel, e.g. tg_conv_s8
    params_type: str  # its parameter struct, e.g. tg_conv_params
    fields: list[tuple[str, str]]  # designated initializers of the struct
    args: list[str]  # pointer arguments after (&ctx, &params): inputs, then outputs
    setup: list[str] = field(default_factory=list)  # C statements needed before the call
    # Filled in by the generator:
    index: int = 0
    symbol: str = ""
    op: str = ""
    comment: str = ""
    scratch_offset: int = 0
    scratch_size: int = 0
    clear_scratch: bool = False  # an earlier layer left scratch in the context


class LayerEmitter:
    """Hands an op the C expressions for its tensors and collects its constant arrays."""

    def __init__(self, graph: Graph, plan: MemoryPlan, symbols: SymbolTable):
        self.graph = graph
        self.plan = plan
        self.symbols = symbols
        self.arrays: list[CArray] = []
        self._constants: dict[str, str] = {}
        self._by_content: dict[tuple[str, tuple[int, ...], bytes], str] = {}
        self.layer_index = 0

    def pointer(self, tensor: str, role: str | None = None) -> str:
        """C expression for a tensor's data: a const array for constants (named after `role`,
        e.g. "weights"), else an arena slice."""
        if tensor in self._constants:
            return self._constants[tensor]
        t = self.graph.tensors[tensor]
        if t.data is not None:
            label = role or f"constant{len(self._constants)}"
            symbol = self.array(label, t.data, f"{label} {list(t.shape)}{quant_note(t)}")
            self._constants[tensor] = symbol
            return symbol
        return f"arena + {self.plan.tensor_offset(tensor)}"

    def array(self, hint: str, values: np.ndarray, comment: str = "") -> str:
        """Add a const array to the weights file; returns its symbol. An array equal to one added
        before (same type, shape and bytes) is not stored twice: the row bands of a patched stage
        repeat their layers' requantization tables, for instance."""
        values = np.ascontiguousarray(values)
        key = (str(values.dtype), values.shape, values.tobytes())
        if key in self._by_content:
            return self._by_content[key]
        ctype = C_TYPES[str(values.dtype)]
        symbol = self.symbols.symbol(f"l{self.layer_index}_{hint}")
        self.arrays.append(CArray(symbol, ctype, values, c_comment(comment)))
        self._by_content[key] = symbol
        return symbol

    def dims(self, tensor: str) -> str:
        return c_dims(self.graph.tensors[tensor].shape)


def quant_note(tensor: Tensor) -> str:
    if tensor.quant is None:
        return ""
    if tensor.quant.is_per_tensor:
        return f", scale {tensor.quant.scale_value:.6g}, zero point {tensor.quant.zero_point_value}"
    return f", per-channel scales (axis {tensor.quant.axis})"
