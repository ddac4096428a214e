"""Compile time grows at most linearly with the layers: a synthetic 200-layer network compiles in at most
6x the time of the same network with 50 layers (4x the layers; linear would be 4x, and the fixed costs --
imports, onnxruntime sessions -- keep the real ratio below that). CPU time of this process and its children
(the stack measurement runs the Cortex-M compiler), not the wall clock, so other load on the machine does
not count. The arena check and codegen's in-place lookups were quadratic in the layers before issue 18.

The network is a chain of 3x3 convolutions with fused ReLU whose widths cycle 8, 16, 24, with a residual
Add every third layer (the planner's harder case: long-lived shortcuts), on an 8x8 map."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinygen

RATIO_BOUND = 6.0  # for 4x the layers
WIDTHS = (8, 16, 24)


def residual_chain(layers: int, size: int = 8, seed: int = 0) -> onnx.ModelProto:
    """`layers` 3x3 convolutions (ReLU fused), widths cycling through WIDTHS in runs of three layers of one
    width; the third layer of each run adds the run's input (a residual Add)."""
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    x, channels, run_input = "x", WIDTHS[0], "x"
    for i in range(layers):
        width = WIDTHS[(i // 3) % len(WIDTHS)]
        if i % 3 == 0:
            run_input = x if width == channels else ""
        scale = np.sqrt(2.0 / (9 * channels))  # He initialization keeps the activations in range
        weights += [numpy_helper.from_array((rng.standard_normal((width, channels, 3, 3)) * scale)
                                            .astype(np.float32), f"w{i}"),
                    numpy_helper.from_array((rng.standard_normal(width) * 0.1).astype(np.float32), f"b{i}")]
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x, channels = f"r{i}", width
        if i % 3 == 2 and run_input:
            nodes.append(helper.make_node("Add", [run_input, x], [f"s{i}"]))
            x = f"s{i}"
    graph = helper.make_graph(nodes, "chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTHS[0], size, size])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, channels, size, size])],
                              weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _compile_seconds(folder: Path, layers: int) -> float:
    model = folder / f"chain{layers}.onnx"
    onnx.save(residual_chain(layers), model)
    calib = folder / "calib.npy"
    np.save(calib, np.random.default_rng(1).standard_normal((8, WIDTHS[0], 8, 8)).astype(np.float32))
    start, wall = _cpu_seconds(), time.perf_counter()
    compiled = tinygen.compile(model, folder / f"out{layers}", calib=str(calib))
    spent = _cpu_seconds() - start
    print(f"\n{layers} layers: {spent:.2f} s CPU, {time.perf_counter() - wall:.2f} s wall")
    assert len(compiled.manifest["layer_list"]) >= layers
    return spent


def test_compile_time_grows_linearly_with_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))  # both sizes measure their stack alike
    _compile_seconds(tmp_path, 10)  # imports and first-use caches out of the way
    small = _compile_seconds(tmp_path, 50)
    large = _compile_seconds(tmp_path, 200)
    print(f"\ncompile CPU time: 50 layers {small:.2f} s, 200 layers {large:.2f} s ({large / small:.2f}x)")
    assert large <= RATIO_BOUND * small, f"200 layers took {large / small:.1f}x the time of 50"
