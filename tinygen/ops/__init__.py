"""The operations tinygen compiles. Importing this package registers every op module in it.

An op is one unit: a module here with its ONNX import function(s) (@onnx_op), its IR Op (@register:
attributes, kernel table, quantization, golden reference, C emission, MACs), plus its C kernel in
firmware/tinygen_kernels and its tests. No list to edit: every module of this package is imported
below. docs/adding-an-op.md walks through it.
"""

import importlib
import pkgutil

from .base import ONNX_IMPORTERS, OPS, Kernel, OnnxImporter, Op, Unsupported, onnx_op, op_of, register

# The shared helpers (base, common, emit, onnx_import, orders) register nothing; importing them is harmless.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["ONNX_IMPORTERS", "OPS", "Kernel", "OnnxImporter", "Op", "Unsupported", "onnx_op", "op_of", "register"]
