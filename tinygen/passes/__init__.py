"""Graph passes, one module per pass: PIPELINE on the float IR (run by `run_pipeline`), INT8_PIPELINE
on the quantized IR before planning (run by `run_int8_pipeline`), and split_bands, which the planning
driver runs when it chooses patch-based execution (plan/driver.py).

Each pass takes a Graph, rewrites it in place and returns the number of rewrites it made.
With `debug=True` the IR is verified after every pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..ir import Graph, verify
from . import (
    fold_batchnorm,
    fold_copies,
    fold_flatten_transpose,
    fold_last_step,
    fold_matmul_transpose,
    fuse_activation,
    fuse_bias_add,
    fuse_elementwise,
    fuse_matmul_scale,
    fuse_pad,
    fuse_residual_add,
    remove_constant_channels,
    remove_dead_nodes,
)

Pass = Callable[[Graph], int]

PIPELINE: list[tuple[str, Pass]] = [
    # BatchNormalization: scale and shift folded into the preceding Conv/Gemm weights and bias,
    # or, standing alone, turned into a 1x1 depthwise convolution (a per-channel affine op).
    ("fold_batchnorm", fold_batchnorm.run),
    # MatMul followed by Add(constant vector): the vector becomes the fully connected bias.
    ("fuse_bias_add", fuse_bias_add.run),
    # A product of two run-time tensors times a positive constant (attention's scores scaled by d^-0.5):
    # the factor joins the product's requantization.
    ("fuse_matmul_scale", fuse_matmul_scale.run),
    # Relu / Clip after a conv, FC or add: becomes that op's output clamp.
    ("fuse_activation", fuse_activation.run),
    # A region of elementwise ops computing a function of one tensor (GELU, SiLU, HardSwish as
    # exporters spell them): one lookup table.
    ("fuse_elementwise", fuse_elementwise.run),
    # Constant zero Pad before a conv or average pool: becomes the op's own padding.
    ("fuse_pad", fuse_pad.run),
    # Transpose to channels-first + Flatten in front of a fully connected layer: the FC's weight
    # columns are permuted instead, as TFLite does.
    ("fold_flatten_transpose", fold_flatten_transpose.run),
    # Nodes whose results nothing uses.
    ("remove_dead_nodes", remove_dead_nodes.run),
    # Consecutive data movements (slice, transpose, gather, reshape copies) composed into one; contiguous
    # ones become views with no code.
    ("fold_copies", fold_copies.run),
    # A recurrent layer's last step read through Gather / Slice: its final state Y_h (Y not computed); a
    # requantization of its outputs: its own rounding (ops that round outputs from their state: GRU).
    ("fold_last_step", fold_last_step.run),
    # Data movements feeding or following a matrix product of two run-time tensors (attention's heads
    # sliced from one projection, K^T, the heads merged), once composed: become the product's operand
    # and output strides.
    ("fold_matmul_transpose", fold_matmul_transpose.run),
]


# On the int8 IR: rewrites that need the layers' integer parameters.
INT8_PIPELINE: list[tuple[str, Pass]] = [
    # Output channels that are one constant at every pixel (all-zero filters), through a depthwise layer
    # or not: removed, their value folded into the next convolution's bias (bit-identical).
    ("remove_constant_channels", remove_constant_channels.run),
    # A residual Add joins the convolution that feeds it (tg_conv_add_s8): bit-identical, one tensor less.
    ("fuse_residual_add", fuse_residual_add.run),
]


# What the int8 pipeline does without in-place execution (`tinygen compile --no-in-place`): no fusion.
IN_PLACE_PASSES = {"fuse_residual_add"}


def int8_pipeline(in_place: bool) -> list[tuple[str, Pass]]:
    return [(name, run) for name, run in INT8_PIPELINE if in_place or name not in IN_PLACE_PASSES]


def run_pipeline(graph: Graph, debug: bool = False, log: Callable[[str], None] | None = None,
                 pipeline: list[tuple[str, Pass]] = PIPELINE) -> dict[str, int]:
    counts = {}
    for name, run in pipeline:
        start = time.perf_counter()
        counts[name] = run(graph)
        graph.remove_unused_tensors()
        if debug:
            verify(graph)
        if log:
            log(f"pass {name}: {counts[name]} rewrite(s) in {1000 * (time.perf_counter() - start):.1f} ms")
    return counts
