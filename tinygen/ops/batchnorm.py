"""BatchNormalization (inference): imported as a float-only `batch_norm` op that the
fold_batchnorm pass always removes, folding it into the preceding conv / fully connected layer
or turning it into a 1x1 depthwise convolution. It never reaches quantization."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir import Graph, Node
from .base import Op, Unsupported, onnx_op, register

if TYPE_CHECKING:
    from .onnx_import import ImportContext, Value


@onnx_op("BatchNormalization", layout="spatial", constraints="inference mode; constant statistics; folded into the "
                                           "preceding Conv/Gemm or run as a per-channel affine op")
def BatchNormalization(ctx: ImportContext, X: Value, scale: Value, B: Value, input_mean: Value,
                       input_var: Value, *, epsilon: float = 1e-5, momentum: float = 0.9,
                       training_mode: int = 0) -> None:
    if training_mode:
        raise Unsupported("training_mode=1 is not supported (export the model in eval mode)")
    constants = [scale, B, input_mean, input_var]
    if any(v.const is None for v in constants):
        raise Unsupported("the scale, bias, mean and variance must be constants")
    if X.rank < 2:
        raise Unsupported("the input needs a channel axis")
    gamma, beta, mean, var = (np.asarray(v.const, np.float64) for v in constants)
    a = gamma / np.sqrt(var + np.float64(epsilon))
    b = beta - mean * a
    out = ctx.output_value(ctx.output_name)
    if X.layout.value == "plain" and X.rank > 2:
        raise Unsupported("BatchNormalization over a non-spatial rank-3 tensor is not supported")
    ctx.emit("batch_norm", [X.runtime, ctx.constant("bn_scale", a.astype(np.float32)),
                            ctx.constant("bn_shift", b.astype(np.float32))], [out.runtime])


@register
class BatchNormOp(Op):
    name = "batch_norm"
    summary = "float-only: folded away by passes/fold_batchnorm.py before quantization"

    def quantize(self, node: Node, graph: Graph) -> None:
        raise AssertionError("batch_norm must have been folded before quantization")
