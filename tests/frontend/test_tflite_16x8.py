"""16x8 single-operator models (int16 activations, int8 weights, int64 biases) built with the schema's
builders, compiled and compared with the tflite-micro interpreter byte for byte: golden, and the host C
under ASan/UBSan. Input parameters are drawn at random (TFLite's 16x8 activations are symmetric), the
inputs cover the whole int16 range (every value, for the elementwise tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen

from ..conftest import assert_identical
from .tflite_builder import Op, T, build, tflite_micro

Q15 = [1.0 / 32768.0]


def _scale(rng: np.random.Generator) -> list[float]:
    return [float(rng.uniform(2e-5, 4e-4))]


def _every_int16(shape: tuple[int, ...]) -> np.ndarray:
    """Every int16 value (repeated to fill `shape`) in one sample."""
    size = int(np.prod(shape))
    return np.resize(np.arange(-32768, 32768, dtype=np.int16), size).reshape(1, *shape[1:])


def _compare(model: bytes, x: np.ndarray, tmp_path: Path, label: str) -> None:
    path = tmp_path / f"{label}.tflite"
    path.write_bytes(model)
    compiled = tinygen.compile(path, tmp_path / label)
    expected = tflite_micro(model, x)
    golden = compiled.golden(x, int8=True)
    host = compiled.run(x, int8=True, sanitize=True)
    assert_identical(expected, golden.reshape(expected.shape), f"{label}: golden vs tflite-micro")
    assert_identical(expected, host.reshape(expected.shape), f"{label}: host C vs tflite-micro")


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_logistic_and_tanh_match_tflite_micro(op: str, tmp_path: Path) -> None:
    """Random input scales, and the power-of-two scales of TFLite's shortcut (2^-12, and 2^-11 for tanh)."""
    rng = np.random.default_rng(len(op))
    shape = (1, 512)  # small enough for tflite-micro's default arena
    every = np.arange(-32768, 32768, dtype=np.int16).reshape(128, 512)  # each int16 value once
    for trial, scale in enumerate([2.0**-12, 2.0**-11, *(_scale(rng)[0] * 10 for _ in range(3))]):
        model = build([T("x", shape, "int16", [scale], [0]), T("y", shape, "int16", Q15, [0])],
                      [Op(op, [0], [1])], [0], [1])
        _compare(model, every, tmp_path, f"{op.lower()}{trial}")


def test_softmax_matches_tflite_micro(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    shape = (1, 6, 40)
    for trial in range(3):
        beta = float(rng.uniform(0.5, 2.0))
        model = build([T("x", shape, "int16", _scale(rng), [0]), T("y", shape, "int16", Q15, [0])],
                      [Op("SOFTMAX", [0], [1], "SoftmaxOptions", {"Beta": beta})], [0], [1])
        x = rng.integers(-32768, 32768, size=(6, *shape[1:]), dtype=np.int16)
        _compare(model, x, tmp_path, f"softmax{trial}")


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_binary_operators_match_tflite_micro(op: str, tmp_path: Path) -> None:
    """A run-time operand and a constant int16 one (per channel, broadcast), different scales, a fused ReLU."""
    rng = np.random.default_rng(11 + len(op))
    shape, other = (1, 4, 4, 8), (1, 1, 1, 8)
    options = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[op]
    for trial in range(2):
        data = rng.integers(-32767, 32768, size=other, dtype=np.int16)
        out_scale = [_scale(rng)[0] * (4 if op == "MUL" else 1)]
        tensors = [T("a", shape, "int16", _scale(rng), [0]), T("b", other, "int16", _scale(rng), [0], data=data),
                   T("y", shape, "int16", out_scale, [0])]
        model = build(tensors, [Op(op, [0, 1], [2], options, {"FusedActivationFunction": trial})], [0], [2])
        x = rng.integers(-32768, 32768, size=(8, *shape[1:]), dtype=np.int16)
        _compare(model, x, tmp_path, f"{op.lower()}{trial}")


def _weights(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> tuple[T, list[float]]:
    w = rng.integers(-127, 128, size=shape, dtype=np.int8)
    scales = [float(s) for s in rng.uniform(0.002, 0.02, shape[axis])]
    return T("w", shape, "int8", scales, [0] * shape[axis], axis, w), scales


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
def test_weighted_operators_match_tflite_micro(op: str, tmp_path: Path) -> None:
    """int8 per-channel weights, an int64 bias near the accumulator's size, a fused activation."""
    rng = np.random.default_rng(len(op))
    in_scale = _scale(rng)
    if op == "FULLY_CONNECTED":
        x_shape, out_shape = (1, 24), (1, 10)
        w, scales = _weights(rng, (10, 24), 0)
        options = ("FullyConnectedOptions", {"FusedActivationFunction": 1})
    elif op == "CONV_2D":
        x_shape, out_shape = (1, 7, 6, 3), (1, 4, 3, 5)
        w, scales = _weights(rng, (5, 3, 3, 3), 0)
        options = ("Conv2DOptions", {"Padding": 0, "StrideW": 2, "StrideH": 2, "FusedActivationFunction": 3,
                                     "DilationWFactor": 1, "DilationHFactor": 1})
    else:
        x_shape, out_shape = (1, 7, 6, 3), (1, 7, 6, 6)
        w, scales = _weights(rng, (1, 3, 3, 6), 3)
        options = ("DepthwiseConv2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1, "DepthMultiplier": 2,
                                              "FusedActivationFunction": 0, "DilationWFactor": 1,
                                              "DilationHFactor": 1})
    channels = len(scales)
    bias = rng.integers(-2**24, 2**24, size=channels).astype(np.int64)
    b = T("b", (channels,), "int64", [in_scale[0] * s for s in scales], [0] * channels, 0, bias)
    taps = int(np.prod(w.shape)) // channels
    out_scale = [float(in_scale[0] * np.mean(scales) * np.sqrt(taps) * 60)]
    tensors = [T("x", x_shape, "int16", in_scale, [0]), w, b, T("y", out_shape, "int16", out_scale, [0])]
    model = build(tensors, [Op(op, [0, 1, 2], [3], *options)], [0], [3])
    x = rng.integers(-32768, 32768, size=(8, *x_shape[1:]), dtype=np.int16)
    _compare(model, x, tmp_path, op.lower())


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pools_match_tflite_micro(op: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    scale = _scale(rng)
    model = build([T("x", (1, 7, 7, 4), "int16", scale, [0]), T("y", (1, 4, 4, 4), "int16", scale, [0])],
                  [Op(op, [0], [1], "Pool2DOptions", {"Padding": 0, "StrideW": 2, "StrideH": 2, "FilterWidth": 3,
                                                      "FilterHeight": 3})], [0], [1])
    x = rng.integers(-32768, 32768, size=(8, 7, 7, 4), dtype=np.int16)
    _compare(model, x, tmp_path, op.lower())


@pytest.mark.parametrize("source,target", [("int8", "int16"), ("int16", "int8"), ("int16", "int16")])
def test_quantize_between_activation_types_matches_tflite_micro(source: str, target: str, tmp_path: Path) -> None:
    """QUANTIZE of an int8 tensor to int16 and back (the conversions of mixed precision), and int16 -> int16."""
    rng = np.random.default_rng(len(source) + 2 * len(target))
    shape = (1, 4, 8, 8)

    def params(kind: str) -> tuple[list[float], list[int]]:
        if kind == "int16":
            return _scale(rng), [0]
        return [float(rng.uniform(0.005, 0.05))], [int(rng.integers(-20, 20))]

    model = build([T("x", shape, source, *params(source)), T("y", shape, target, *params(target))],
                  [Op("QUANTIZE", [0], [1])], [0], [1])
    if source == "int16":
        x = _every_int16(shape)
    else:
        x = np.resize(np.arange(-128, 128, dtype=np.int8), int(np.prod(shape))).reshape(shape)
    _compare(model, x, tmp_path, f"quantize_{source}_{target}")
