"""The golden reference: the whole quantized model (int8, or int16 activations) run through the numpy
kernels of tinygen/ops.

This is what the C code must equal byte for byte, on the host and on every target.
"""

from __future__ import annotations

import numpy as np

from .ir import Graph
from .ops import op_of


def run(graph: Graph, inputs: list[np.ndarray], keep_all: bool = False
        ) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Run a batch. `inputs[k]` is (N, *physical shape[1:]) of graph input k's type (int8 or int16).

    Returns the outputs, each (N, *physical shape[1:]), and -- with keep_all -- every
    activation of every sample stacked the same way (for per-layer comparisons)."""
    count = inputs[0].shape[0]
    outputs: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    kept: dict[str, list[np.ndarray]] = {}
    for i in range(count):
        env = run_one(graph, [x[i:i + 1] for x in inputs])
        for k, name in enumerate(graph.outputs):
            outputs[k].append(env[name])
        if keep_all:
            for name, value in env.items():
                kept.setdefault(name, []).append(value)
    stacked = {name: _batch(values) for name, values in kept.items()}
    return [_batch(o) for o in outputs], stacked


def _batch(samples: list[np.ndarray]) -> np.ndarray:
    """Stack per-sample tensors into a batch: (N, *shape[1:]) for tensors with a leading batch
    axis of 1, (N, *shape) otherwise (e.g. an output [C, K] without a batch axis)."""
    batch = np.stack(samples)
    return batch[:, 0] if batch.ndim > 2 and batch.shape[1] == 1 else batch


def run_one(graph: Graph, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    env: dict[str, np.ndarray] = {}
    for name, value in zip(graph.inputs, inputs, strict=True):
        tensor = graph.tensors[name]
        env[name] = np.ascontiguousarray(value, dtype=tensor.dtype).reshape(tensor.shape)
    for node in graph.nodes:
        args: list[np.ndarray] = []
        for name in node.inputs:
            data = graph.tensors[name].data
            args.append(data if data is not None else env[name])
        results = op_of(node).reference(node, graph, args)
        for name, value in zip(node.outputs, results, strict=True):
            expected, dtype = graph.tensors[name].shape, graph.tensors[name].dtype
            assert value.dtype == np.dtype(dtype) and tuple(value.shape) == tuple(expected), (
                f"golden {node.op} '{node.name}' gave {value.dtype}{list(value.shape)}, "
                f"expected {dtype}{list(expected)}")
            env[name] = value
    return env
