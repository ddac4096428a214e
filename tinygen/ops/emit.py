"""What an op's `emit` sees of the code generator, and what it returns.

The code generator (codegen/layers.py LayerEmitter) implements EmitContext for one layer at a time: the
C expressions of the layer's tensors, a place for its constant arrays, the kernel the planner chose for
it and whether the plan runs it in place. An op describes its C call as a CLayer (the kernel, the fields
of its static const parameter struct, the pointer arguments); the template lays that out and computes
nothing. Ops see no more of codegen or the planner than this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..ir import Graph
from .kernel import Kernel


@dataclass
class CLayer:
    function: str  # kernel, e.g. tg_conv_s8 ("": the layer runs no code)
    params_type: str  # its parameter struct, e.g. tg_conv_params
    fields: list[tuple[str, str]]  # designated initializers of the struct
    args: list[str]  # pointer arguments after (&ctx, &params): inputs, then outputs
    setup: list[str] = field(default_factory=list)  # C statements needed before the call
    # Filled in by the generator:
    index: int = 0
    symbol: str = ""
    op: str = ""
    kernel: str = ""  # the Kernel's key
    comment: str = ""
    scratch_offset: int = 0
    scratch_size: int = 0
    clear_scratch: bool = False  # an earlier layer left scratch in the context

    @classmethod
    def no_code(cls) -> CLayer:
        """A layer that runs nothing (an alias or a view of its input)."""
        return cls("", "", [], [])


class EmitContext(Protocol):
    graph: Graph
    layer_index: int  # the layer's position in the schedule
    kernel: Kernel | None  # the kernel the planner chose for this layer

    def pointer(self, tensor: str, role: str | None = None) -> str:
        """C expression for a tensor's data: a const array for constants (named after `role`, e.g.
        "weights"), else an arena slice."""
        ...

    def array(self, hint: str, values: np.ndarray, comment: str = "") -> str:
        """Add a const array to the weights file; returns its symbol."""
        ...

    def dims(self, tensor: str) -> str:
        """The tensor's shape as a tg_dims initializer ([N, H, W, C])."""
        ...

    def in_place(self, input_index: int) -> bool:
        """Does the plan place this layer's output over input `input_index` (its in-place relation)?"""
        ...

    def call(self, fields: list[tuple[str, str]], args: list[str], setup: list[str] | None = None) -> CLayer:
        """The call of the chosen kernel with these struct fields and pointer arguments."""
        ...
