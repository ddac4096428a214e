"""The operations tinygen compiles. Importing this package registers every op module.

To add an op: write a module here with its ONNX import function(s) (@onnx_op) and its IR Op
(@register: quantize, golden reference, C emission, MACs), add its kernel to
firmware/tinygen_kernels (header + source, the header included from tg_nnfunctions.h), list
the module below, and add its tests (tests/ops/test_<op>.py).
"""

from .base import ONNX_IMPORTERS, OPS, OnnxImporter, Op, Unsupported, onnx_op, op_of, register

# Each import registers the module's ops (order is irrelevant).
from . import (  # noqa: F401  isort: skip
    batchnorm,
    concat,
    conv,
    elementwise,
    fully_connected,
    pad,
    patches,
    pool,
    prelu,
    qdq,
    reshape,
    softmax,
    unary,
)

__all__ = ["ONNX_IMPORTERS", "OPS", "OnnxImporter", "Op", "Unsupported", "onnx_op", "op_of", "register"]
