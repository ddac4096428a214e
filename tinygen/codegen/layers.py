"""The code generator's side of an op's `emit`: LayerEmitter implements the EmitContext an op sees
(ops/emit.py) and collects the constant arrays of every layer.

An Op's `emit` returns a CLayer: the kernel to call, the fields of its static const parameter
struct, and the pointer arguments. The template lays these out; it computes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cformat import C_TYPES, c_dims
from ..cnames import SymbolTable, c_comment
from ..ir import Graph, Tensor
from ..ops import Kernel
from ..ops.emit import CLayer
from ..plan import MemoryPlan


@dataclass
class CArray:
    symbol: str
    ctype: str
    values: np.ndarray
    comment: str


class LayerEmitter:
    """Hands an op the C expressions for its tensors and collects its constant arrays (ops/emit.py
    EmitContext); `start` moves it to the next layer."""

    def __init__(self, graph: Graph, plan: MemoryPlan, symbols: SymbolTable):
        self.graph = graph
        self._plan = plan
        self.symbols = symbols
        self.arrays: list[CArray] = []
        self._constants: dict[str, str] = {}
        self._by_content: dict[tuple[str, tuple[int, ...], bytes], str] = {}
        self.layer_index = 0
        self.kernel: Kernel | None = None

    def start(self, layer_index: int, kernel: Kernel | None) -> None:
        self.layer_index, self.kernel = layer_index, kernel

    def in_place(self, input_index: int) -> bool:
        return self._plan.in_place(self.layer_index, input_index) is not None

    def call(self, fields: list[tuple[str, str]], args: list[str], setup: list[str] | None = None) -> CLayer:
        assert self.kernel is not None, f"layer {self.layer_index} has no kernel to call"
        return CLayer(self.kernel.function, self.kernel.params, fields, args, setup or [])

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
        if t.dtype == "int16":  # 16x8 activations: arena offsets are 4-byte aligned
            return f"(int16_t *)(void *)(arena + {self._plan.tensor_offset(tensor)})"
        return f"arena + {self._plan.tensor_offset(tensor)}"

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


__all__ = ["CArray", "CLayer", "LayerEmitter", "quant_note"]
