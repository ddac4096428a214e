"""What the loader hands on: a checked, static-shaped, constant-folded ONNX model.

Its own module so that both the loader and the validation stage (validate.py, which the loader
runs) can name it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx


@dataclass
class ValueInfo:
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass
class LoadedModel:
    path: str
    model: onnx.ModelProto
    opset: int
    constants: dict[str, np.ndarray]  # initializers and folded values, by name
    values: dict[str, ValueInfo]  # static shape and dtype of every non-constant value
    upgraded_from: int | None = None
    # What the loader changed that the user should know (a fixed batch compiled as batch 1, ...):
    # shown in the compile summary and stored in the manifest.
    notes: list[str] = field(default_factory=list)
    # The source model as OUT stores it for `verify` and `report` (onnxruntime runs it one sample at a
    # time): the file's own bytes, or, when the loader had to change it to compile it (external weight
    # data embedded, opset upgraded, inputs pinned by --input-shape or a fixed batch compiled as batch 1),
    # the changed model before constant folding, one self-contained file either way.
    source: bytes = b""
    sha256: str = ""  # of the file as given

    @property
    def graph(self) -> onnx.GraphProto:
        return self.model.graph

    @property
    def input_names(self) -> list[str]:
        return [v.name for v in self.graph.input if v.name not in self.constants]

    @property
    def output_names(self) -> list[str]:
        return [v.name for v in self.graph.output]
