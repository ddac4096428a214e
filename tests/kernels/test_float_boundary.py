"""The float boundary of the generated API: tg_quantize_f32 / tg_dequantize_f32, reached through
the generated <name>_run_float() (CompiledModel.run_float_api), equal tinygen.arith.quantize_float
/ dequantize bit for bit: rounding ties (x / scale = k + 1/2), NaN, infinities, huge and tiny
values, the clamp to int8, and the transposition of channels-first (NCHW, NCL) tensors.

The graph passes each input through a lookup table that is the identity (so every output value
is exactly the quantized input) into an output with its own scale and zero point (so the
dequantization has something to round). An input and its output never both use the
channels-first conversion: the same wrong permutation on both sides would cancel through an
elementwise op. The C is built with ASan/UBSan.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygen import arith, host, reference
from tinygen.api import write_compiled
from tinygen.ir import Layout, QuantParams
from tinygen.model import CompiledModel

from .builder import GraphBuilder

# (input ONNX shape, input layout, output layout, input (scale, zero point), output (scale, zero point));
# a PLAIN 4-D tensor is NHWC in the model too, a CHANNELS_LAST one NCHW (or NCL).
IO = [
    ((1, 3, 4, 5), Layout.CHANNELS_LAST, Layout.PLAIN, (0.0625, 0), (0.1, 7)),  # NCHW in; exact ties
    ((1, 2, 7), Layout.CHANNELS_LAST, Layout.PLAIN, (0.1, -128), (3.3e-3, -128)),  # NCL in
    ((1, 11), Layout.PLAIN, Layout.PLAIN, (1e-6, 127), (2.5e3, 127)),
    ((1, 3, 4, 2), Layout.PLAIN, Layout.CHANNELS_LAST, (1000.0, -3), (0.007, 40)),  # NCHW out [1, 2, 3, 4]
]
IDENTITY = np.arange(-128, 128).astype(np.int8)  # table[q + 128] = q


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    b = GraphBuilder("float_boundary", 0)
    for onnx_shape, layout, out_layout, (scale, zp), (out_scale, out_zp) in IO:
        shape = layout.physical_shape(onnx_shape)
        x = b.input(shape, layout=layout, onnx_shape=onnx_shape, quant=QuantParams.per_tensor(scale, zp))
        out_onnx_shape = (1, shape[3], shape[1], shape[2]) if out_layout is Layout.CHANNELS_LAST else shape
        b.layer("lut", [x], shape, {"function": "identity", "args": {}}, {"table": IDENTITY}, layout=out_layout,
                onnx_shape=out_onnx_shape, quant=QuantParams.per_tensor(out_scale, out_zp))
    graph = b.finish()
    compiled = write_compiled(graph, tmp_path_factory.mktemp("float") / "out", "float_boundary").model
    compiled.host_executable(sanitize=True)
    return compiled


def special_values(scale: float, zero_point: int, rng: np.random.Generator) -> np.ndarray:
    """float32 values where quantization can go wrong, for one input's parameters."""
    s = np.float32(scale)
    k = np.arange(-300, 300, dtype=np.float32)
    ties = (k + np.float32(0.5)) * s  # exact k + 1/2 after the division when the scale allows
    near = np.concatenate([np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))])
    # Values whose float32 quotient is exactly a tie: search a few ulps around (k + 1/2) s.
    exact_ties = [v for v in np.concatenate([ties, near]) if (np.float32(v) / s) % np.float32(1) == 0.5]
    edges = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1.1754944e-38,
                      3.4028235e38, -3.4028235e38, 1e30, -1e30], dtype=np.float32)
    clamp = np.array([1e6, -1e6, 1e6 + 64, -1e6 - 64, 999999.5, -999999.5, 2**31, -(2**31), 2**24 + 1],
                     dtype=np.float32) * s  # around the C's +-1e6 clamp of x / scale
    int8_edges = (np.array([-129, -128.5, -128, 127, 127.5, 128], dtype=np.float32) - zero_point) * s
    random = (rng.standard_normal(2000) * 100).astype(np.float32) * s
    return np.concatenate([ties, near, np.array(exact_ties, np.float32), edges, clamp, int8_edges,
                           random]).astype(np.float32)


def batch_of(values: np.ndarray, onnx_shape: tuple[int, ...], rng: np.random.Generator, count: int) -> np.ndarray:
    """`values` in a batch of `count` samples of onnx_shape (shuffled, padded with repeats)."""
    size = int(np.prod(onnx_shape[1:]))
    assert count * size >= values.size, "the batch is too small to hold every value"
    flat = np.resize(rng.permutation(values), count * size)
    return flat.reshape((count, *onnx_shape[1:])).astype(np.float32)


def numpy_float_api(compiled: CompiledModel, batch: list[np.ndarray]) -> list[np.ndarray]:
    """What <name>_run_float must compute, in numpy: arith.quantize_float in the model's layout,
    the golden graph, arith.dequantize, back to the model's layout."""
    quantized = [compiled.to_storage(io, arith.quantize_float(x, io["scale"], io["zero_point"]))
                 for io, x in zip(compiled.inputs, batch, strict=True)]
    raw, _ = reference.run(compiled.graph, quantized)
    return [compiled.from_storage(io, arith.dequantize(y, io["scale"], io["zero_point"]))
            for io, y in zip(compiled.outputs, raw, strict=True)]


def c_float_api(compiled: CompiledModel, batch: list[np.ndarray]) -> list[np.ndarray]:
    """<name>_run_float on the host, under ASan/UBSan. Calls the simulator directly because
    CompiledModel.run_float_api rightly refuses NaN and infinite inputs from users."""
    raw = host.run_batch(compiled.host_executable(sanitize=True), batch, compiled.outputs, mode="float")
    return [y.reshape((y.shape[0], *io["onnx_shape"][1:])) for io, y in zip(compiled.outputs, raw, strict=True)]


def assert_bits_equal(expected: np.ndarray, actual: np.ndarray, inputs: np.ndarray, label: str) -> None:
    """Bitwise float32 equality (so -0.0 != 0.0), reporting the first mismatch and its input."""
    assert expected.shape == actual.shape, f"{label}: shape {actual.shape} != {expected.shape}"
    bad = np.argwhere(expected.view(np.int32) != actual.view(np.int32))
    if len(bad):
        where = tuple(int(i) for i in bad[0])
        raise AssertionError(f"{label}: {len(bad)} of {expected.size} values differ; first at {list(where)} "
                             f"(input {inputs[where]!r}): expected {expected[where]!r}, got {actual[where]!r}")


def test_run_float_equals_numpy_quantize_dequantize(model: CompiledModel) -> None:
    rng = np.random.default_rng(17)
    values = [special_values(scale, zp, rng) for _, _, _, (scale, zp), _ in IO]
    count = max(-(-v.size // int(np.prod(shape[1:]))) for v, (shape, *_) in zip(values, IO, strict=True))
    batch = [batch_of(v, shape, rng, count) for v, (shape, *_) in zip(values, IO, strict=True)]
    expected = numpy_float_api(model, batch)
    actual = c_float_api(model, batch)
    for (onnx_shape, layout, out_layout, _, _), x, e, a in zip(IO, batch, expected, actual, strict=True):
        assert_bits_equal(e, a, x, f"input {list(onnx_shape)} {layout.value} -> {out_layout.value}")


def test_run_float_api_equals_golden_on_finite_inputs(model: CompiledModel) -> None:
    """The public entry points agree too: run_float_api (C quantizes) and golden (numpy does)."""
    rng = np.random.default_rng(5)
    inputs = {io["name"]: (rng.standard_normal((8, *io["onnx_shape"][1:])) * 200 * io["scale"]).astype(np.float32)
              for io in model.inputs}
    expected = model.golden(inputs)
    actual = model.run_float_api(inputs, sanitize=True)
    assert isinstance(expected, dict) and isinstance(actual, dict)
    for name in expected:
        assert_bits_equal(expected[name], actual[name], np.zeros_like(expected[name]), f"output {name}")


def test_every_quantized_value_is_reached(model: CompiledModel) -> None:
    """The special values cover the whole int8 range of every input, ties included, so the
    comparison above sees every rounding and clamping branch."""
    rng = np.random.default_rng(17)
    for _, _, _, (scale, zp), _ in IO:
        values = special_values(scale, zp, rng)
        q = arith.quantize_float(values, scale, zp)
        assert np.array_equal(np.unique(q), np.arange(-128, 128)), f"scale {scale}"
        with np.errstate(over="ignore", invalid="ignore"):
            quotient = values / np.float32(scale)
            assert np.sum(np.abs(quotient % 1) == 0.5) >= 100, f"scale {scale}: too few exact ties"


@pytest.mark.parametrize("x,scale,zero_point,q", [
    (2.5 * 0.0625, 0.0625, 0, 3),  # x / scale = 2.5 exactly: ties away from zero (not to even: 2)
    (-2.5 * 0.0625, 0.0625, 0, -3),
    (0.5 * 0.0625, 0.0625, 0, 1),
    (-0.5 * 0.0625, 0.0625, 0, -1),
    (3.5 * 0.0625, 0.0625, -10, -6),  # round(3.5) = 4, then + zero point
    (np.nan, 0.1, 42, 42),  # NaN becomes the zero point
    (np.inf, 0.1, 0, 127),
    (-np.inf, 0.1, 0, -128),
    (3e38, 1e-3, -128, 127),  # x / scale overflows to inf in float32
    (-1e-45, 1.0, 5, 5),  # -subnormal rounds to -0
])
def test_quantize_float_known_values(x: float, scale: float, zero_point: int, q: int) -> None:
    """std::round semantics, pinned by hand so C and numpy cannot agree on something else."""
    assert int(arith.quantize_float(np.array([x], np.float32), scale, zero_point)[0]) == q


def test_channels_first_transposition_by_hand(model: CompiledModel) -> None:
    """Inputs whose values encode their own index, checked against transpositions written out
    here: the NCHW input 0 arrives NHWC at output 0, the NHWC input 3 leaves NCHW at output 3."""
    assert [io["layout"] for io in model.inputs] == ["channels_last", "channels_last", "plain", "plain"]
    assert [io["layout"] for io in model.outputs] == ["plain", "plain", "plain", "channels_last"]
    batch, indices = [], []
    for io in model.inputs:
        shape = tuple(io["onnx_shape"])
        index = (np.arange(int(np.prod(shape))) % 200 - 100).astype(np.float32).reshape(shape)
        indices.append(index)
        batch.append(index * np.float32(io["scale"]))  # quantizes to exactly index + zero point
    actual = c_float_api(model, batch)
    for k, (index, transpose) in enumerate(((indices[0], (0, 2, 3, 1)), (indices[3], (0, 3, 1, 2)))):
        k = 3 * k
        assert len(set(index.shape[1:])) == 3, "distinct dims, so no transposition equals another"
        out = model.outputs[k]
        moved = index.transpose(transpose)
        expected = (moved + model.inputs[k]["zero_point"] - out["zero_point"]).astype(np.float32) * np.float32(
            out["scale"])
        assert_bits_equal(expected, actual[k], moved, f"output {k}: index pattern")
