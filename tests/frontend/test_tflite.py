"""Issue 13: .tflite models compile directly, bit-exact with TensorFlow Lite Micro.

The four MLPerf Tiny int8 .tflite files compile to the same C and arena as their QDQ ONNX
conversions and reproduce the reference outputs and the `tflite-micro` interpreter on random
inputs; single-operator models built here with the TFLite schema (tflite_builder.py, no
TensorFlow) check each operator mapping against tflite-micro over all 256 int8 inputs; files of
other formats, truncated files and unsupported operators are refused with one clear line.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.errors import ModelError, UnsupportedModelError

from ..conftest import MLPERF, assert_identical, model_file, samples
from .tflite_builder import Op, T, build, tflite_micro

RANDOM_INPUTS = 200


# --- the MLPerf Tiny files ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory,
             mlperf_compiled) -> dict[str, tuple[tinygen.model.CompiledModel, Path]]:
    out = tmp_path_factory.mktemp("tflite")
    result = {}
    for name in MLPERF:
        qdq = mlperf_compiled(name)  # the .tflite gets the QDQ model's name, so that their C can be compared
        tfl = tinygen.compile(model_file(name, "int8").with_suffix(".tflite"), out / name, name=qdq.name)
        result[name] = (tfl, qdq.out_dir)
    return result


def nhwc(x: np.ndarray) -> np.ndarray:
    """samples.npz holds the ONNX models' NCHW inputs; the .tflite files take NHWC."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


@pytest.mark.parametrize("name", MLPERF)
def test_samples_give_tflite_reference_outputs(compiled: dict, name: str) -> None:
    model, _ = compiled[name]
    data = samples(name)
    assert model.inputs[0]["layout"] == "plain"  # the user's layout is the file's NHWC
    x = nhwc(data["x_int8"])
    assert_identical(data["y_int8"], model.run(x, int8=True), f"{name}: host C vs y_int8")
    assert_identical(data["y_int8"], model.golden(x, int8=True), f"{name}: golden vs y_int8")


# The 200 random inputs per model take two minutes (tflite-micro's reference kernels and the golden
# reference on VWW and IC): they run with the slow tests; 16 per model (the first 16 of the same 200) in make test.
SWEEPS = [pytest.param(name, count, id=f"{name}-{count}", marks=[pytest.mark.slow] if count > 16 else [])
          for name in MLPERF for count in (16, RANDOM_INPUTS)]


@pytest.mark.parametrize("name,count", SWEEPS)
def test_random_inputs_match_tflite_micro(compiled: dict, name: str, count: int) -> None:
    model, _ = compiled[name]
    shape = model.inputs[0]["onnx_shape"]
    rng = np.random.default_rng(20261203 + MLPERF.index(name))
    x = rng.integers(-128, 128, size=(RANDOM_INPUTS, *shape[1:]), dtype=np.int8)[:count]
    expected = tflite_micro(model_file(name, "int8").with_suffix(".tflite").read_bytes(), x)
    expected = expected.reshape(count, -1)
    assert_identical(expected, model.run(x, int8=True).reshape(count, -1), f"{name}: host C vs tflite-micro")
    assert_identical(expected, model.golden(x, int8=True).reshape(count, -1), f"{name}: golden vs tflite-micro")


def _code(folder: Path, name: str) -> dict[str, str]:
    """The generated model library (lib/<name>/) without what names the source: comments (layer names,
    the banner) and the library description."""
    files = {}
    for path in sorted((folder / "lib" / name).iterdir()):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        files[path.name] = "\n".join(line for line in text.splitlines() if '"description"' not in line)
    return files


@pytest.mark.parametrize("name", MLPERF)
def test_same_c_and_arena_as_the_qdq_route(compiled: dict, name: str) -> None:
    model, qdq_dir = compiled[name]
    qdq = tinygen.load(qdq_dir)
    for key in ("arena_bytes", "weights_bytes", "constants_bytes", "macs", "params", "layers"):
        assert model.manifest[key] == qdq.manifest[key], key
    ours, theirs = _code(model.out_dir, model.name), _code(qdq_dir, qdq.name)
    assert ours.keys() == theirs.keys()
    for file in ours:
        # The float API's one difference: the QDQ model's float input is NCHW, the .tflite's NHWC.
        theirs_text = theirs[file].replace("&input_dims, 1,", "&input_dims, 0,") if name != "ad_autoencoder" \
            else theirs[file]
        assert ours[file] == theirs_text, f"{name}: {file} differs from the QDQ route's"


@pytest.mark.parametrize("name", MLPERF)
def test_cli_run_int8_gives_y_int8(compiled: dict, name: str, tmp_path: Path, tinygen_cli) -> None:
    """`tinygen run --int8` on each MLPerf .tflite's samples.npz x_int8 writes exactly its y_int8."""
    model, _ = compiled[name]
    data = samples(name)
    np.save(tmp_path / "x.npy", nhwc(data["x_int8"]))
    ran = tinygen_cli("-q", "run", str(model.out_dir), "--input", str(tmp_path / "x.npy"), "--output",
                      str(tmp_path / "y.npy"), "--int8")
    assert ran.code == 0, ran.err
    assert_identical(data["y_int8"], np.load(tmp_path / "y.npy"), f"{name}: tinygen run --int8")


def test_cli_run_int8_and_verify(compiled: dict, tmp_path: Path, tinygen_cli) -> None:
    model, _ = compiled["kws_dscnn"]
    data = samples("kws_dscnn")
    np.save(tmp_path / "x.npy", nhwc(data["x_int8"]))
    tinygen_cli("-q", "run", str(model.out_dir), "--input", str(tmp_path / "x.npy"), "--output",
                str(tmp_path / "y.npy"), "--int8")
    assert_identical(data["y_int8"], np.load(tmp_path / "y.npy"), "tinygen run --int8")
    assert (model.out_dir / ".tinygen" / "model.tflite").read_bytes() == model_file(
        "kws_dscnn", "int8").with_suffix(".tflite").read_bytes()
    result = tinygen_cli("verify", str(model.out_dir))
    assert result.code == 0, result.err
    assert "tflite-micro" in result.out and "100.0% exact" in result.out


# --- single operators against tflite-micro -------------------------------------------------------------

def _qparams(rng: np.random.Generator) -> tuple[list[float], list[int]]:
    return [float(rng.uniform(0.01, 0.2))], [int(rng.integers(-100, 100))]


def _every_int8(shape: tuple[int, ...]) -> np.ndarray:
    """All 256 int8 values (repeated to fill `shape`) as one sample."""
    size = int(np.prod(shape))
    return np.resize(np.arange(-128, 128, dtype=np.int8), size).reshape(1, *shape[1:])


def _unary(op: str, rng: np.random.Generator, shape: tuple[int, ...] = (1, 4, 4, 16)) -> bytes:
    out_params = {"LOGISTIC": ([1 / 256], [-128]), "TANH": ([1 / 128], [0]), "SOFTMAX": ([1 / 256], [-128])}
    out_scale, out_zp = out_params.get(op, _qparams(rng))
    options = {"LEAKY_RELU": ("LeakyReluOptions", {"Alpha": 0.2}), "SOFTMAX": ("SoftmaxOptions", {"Beta": 1.0})}
    name, fields = options.get(op, (None, {}))
    return build([T("x", shape, "int8", *_qparams(rng)), T("y", shape, "int8", out_scale, out_zp)],
                 [Op(op, [0], [1], name, fields)], [0], [1])


def _compile_and_compare(model: bytes, x: np.ndarray, tmp_path: Path, label: str) -> None:
    path = tmp_path / f"{label}.tflite"
    path.write_bytes(model)
    compiled = tinygen.compile(path, tmp_path / label)
    expected = tflite_micro(model, x)
    host, golden = compiled.run(x, int8=True), compiled.golden(x, int8=True)
    assert_identical(expected, host.reshape(expected.shape), f"{label}: host C vs tflite-micro")
    assert_identical(expected, golden.reshape(expected.shape), f"{label}: golden vs tflite-micro")


@pytest.mark.parametrize("op", ["RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "LOGISTIC", "TANH", "SOFTMAX"])
def test_unary_operators_match_tflite_micro(op: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(sum(map(ord, op)))
    for trial in range(4):  # random input (and output) parameters, every int8 input value
        _compile_and_compare(_unary(op, rng), _every_int8((1, 4, 4, 16)), tmp_path, f"{op.lower()}{trial}")


def _conv_model(rng: np.random.Generator, depthwise: bool, padding: int, stride: int, activation: int) -> bytes:
    cin, cout, k = 3, 6 if depthwise else 5, 3
    x = T("x", (1, 9, 8, cin), "int8", [0.05], [-3])
    if depthwise:
        w = rng.integers(-127, 128, size=(1, k, k, cout), dtype=np.int8)
        wt = T("w", w.shape, "int8", list(rng.uniform(0.002, 0.02, cout)), [0] * cout, 3, w)
        options = ("DepthwiseConv2DOptions", {"Padding": padding, "StrideW": stride, "StrideH": stride,
                                              "DepthMultiplier": cout // cin, "FusedActivationFunction": activation,
                                              "DilationWFactor": 1, "DilationHFactor": 1})
    else:
        w = rng.integers(-127, 128, size=(cout, k, k, cin), dtype=np.int8)
        wt = T("w", w.shape, "int8", list(rng.uniform(0.002, 0.02, cout)), [0] * cout, 0, w)
        options = ("Conv2DOptions", {"Padding": padding, "StrideW": stride, "StrideH": stride,
                                     "FusedActivationFunction": activation, "DilationWFactor": 1,
                                     "DilationHFactor": 1})
    bias_scale = [0.05 * s for s in wt.scale or []]
    b = T("b", (cout,), "int32", bias_scale, [0] * cout, 0, rng.integers(-2000, 2000, size=cout, dtype=np.int32))
    size = (9 + stride - 1) // stride if padding == 0 else (9 - k + stride) // stride
    width = (8 + stride - 1) // stride if padding == 0 else (8 - k + stride) // stride
    y = T("y", (1, size, width, cout), "int8", [0.08], [5])
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    return build([x, wt, b, y], [Op(op, [0, 1, 2], [3], *options)], [0], [3])


@pytest.mark.parametrize("depthwise", [False, True])
@pytest.mark.parametrize("padding,stride,activation", [(0, 1, 0), (0, 2, 1), (1, 2, 3), (1, 1, 0)])
def test_convolutions_match_tflite_micro(depthwise: bool, padding: int, stride: int, activation: int,
                                         tmp_path: Path) -> None:
    rng = np.random.default_rng(7 + stride + 3 * padding + 11 * activation)
    x = rng.integers(-128, 128, size=(8, 9, 8, 3), dtype=np.int8)
    _compile_and_compare(_conv_model(rng, depthwise, padding, stride, activation), x, tmp_path, "conv")


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("broadcast", [False, True])
def test_binary_operators_match_tflite_micro(op: str, broadcast: bool, tmp_path: Path) -> None:
    rng = np.random.default_rng(len(op) + broadcast)
    shape = (1, 4, 4, 8)
    other = (1, 1, 1, 8) if broadcast else shape
    options = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[op]
    if broadcast:  # a per-channel constant operand
        data = rng.integers(-128, 128, size=other, dtype=np.int8)
        tensors = [T("a", shape, "int8", *_qparams(rng)), T("b", other, "int8", *_qparams(rng), data=data),
                   T("y", shape, "int8", *_qparams(rng))]
        model = build(tensors, [Op(op, [0, 1], [2], options, {"FusedActivationFunction": 1})], [0], [2])
        x = rng.integers(-128, 128, size=(16, *shape[1:]), dtype=np.int8)
        _compile_and_compare(model, x, tmp_path, op.lower())
        return
    # Both operands at run time: the same input twice keeps the model single-input (TFLM's runner).
    tensors = [T("a", shape, "int8", *_qparams(rng)), T("y", shape, "int8", *_qparams(rng))]
    model = build(tensors, [Op(op, [0, 0], [1], options, {"FusedActivationFunction": 0})], [0], [1])
    _compile_and_compare(model, _every_int8(shape), tmp_path, op.lower())


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_match_tflite_micro(op: str, tmp_path: Path) -> None:
    """A per-channel constant against a run-time tensor; TFLite requires one set of parameters."""
    rng = np.random.default_rng(len(op))
    shape, other = (1, 4, 4, 8), (1, 1, 1, 8)
    scale, zp = _qparams(rng)
    data = rng.integers(-128, 128, size=other, dtype=np.int8)
    tensors = [T("a", shape, "int8", scale, zp), T("b", other, "int8", scale, zp, data=data),
               T("y", shape, "int8", scale, zp)]
    model = build(tensors, [Op(op, [0, 1], [2])], [0], [2])
    x = rng.integers(-128, 128, size=(16, *shape[1:]), dtype=np.int8)
    _compile_and_compare(model, x, tmp_path, op.lower())


@pytest.mark.parametrize("shared", [True, False])
def test_prelu_matches_tflite_micro(shared: bool, tmp_path: Path) -> None:
    """A slope per channel, stored as [C] or (Keras without shared_axes) repeated as [H, W, C]."""
    rng = np.random.default_rng(21 + shared)
    shape = (1, 4, 4, 8)
    alpha = rng.integers(-128, 128, size=8, dtype=np.int8)
    stored = alpha if shared else np.broadcast_to(alpha, shape[1:]).copy()
    tensors = [T("x", shape, "int8", *_qparams(rng)), T("alpha", stored.shape, "int8", [0.004], [3], data=stored),
               T("y", shape, "int8", *_qparams(rng))]
    model = build(tensors, [Op("PRELU", [0, 1], [2])], [0], [2])
    _compile_and_compare(model, _every_int8(shape), tmp_path, f"prelu{int(shared)}")


def test_strided_slice_and_transpose_match_tflite_micro(tmp_path: Path) -> None:
    """STRIDED_SLICE with begin/end masks, a negative stride and a shrunk axis, then TRANSPOSE."""
    rng = np.random.default_rng(31)
    scale, zp = _qparams(rng)
    ints = {name: T(name, (4,), "int32", data=np.array(values, np.int32)) for name, values in
            [("begin", [0, 5, 1, 0]), ("end", [1, 0, 6, 8]), ("strides", [1, -2, 2, 1])]}
    tensors = [T("x", (1, 6, 7, 8), "int8", scale, zp), *ints.values(),
               T("sliced", (3, 3, 8), "int8", scale, zp), T("perm", (3,), "int32", data=np.array([2, 0, 1], np.int32)),
               T("y", (8, 3, 3), "int8", scale, zp)]
    ops = [Op("STRIDED_SLICE", [0, 1, 2, 3], [4], "StridedSliceOptions",
              {"BeginMask": 0, "EndMask": 0b1000, "ShrinkAxisMask": 0b0001}),
           Op("TRANSPOSE", [4, 5], [6], "TransposeOptions")]
    x = rng.integers(-128, 128, size=(4, 6, 7, 8), dtype=np.int8)
    _compile_and_compare(build(tensors, ops, [0], [6]), x, tmp_path, "strided")


@pytest.mark.parametrize("op", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("size", [(8, 12), (3, 4)], ids=["up", "down"])
def test_resizes_match_tflite_micro(op: str, align: bool, half: bool, size: tuple[int, int], tmp_path: Path) -> None:
    rng = np.random.default_rng(len(op) + 2 * align + half)
    scale, zp = _qparams(rng)
    options = "ResizeBilinearOptions" if op == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    tensors = [T("x", (1, 5, 7, 3), "int8", scale, zp), T("size", (2,), "int32", data=np.array(size, np.int32)),
               T("y", (1, *size, 3), "int8", scale, zp)]
    model = build(tensors, [Op(op, [0, 1], [2], options, {"AlignCorners": align, "HalfPixelCenters": half})], [0], [2])
    x = rng.integers(-128, 128, size=(4, 5, 7, 3), dtype=np.int8)
    _compile_and_compare(model, x, tmp_path, f"{op.lower()}_{int(align)}{int(half)}")


@pytest.mark.parametrize("padding,out_size", [(0, (10, 12)), (1, (11, 13))], ids=["same", "valid"])
def test_transpose_conv_matches_tflite_micro(padding: int, out_size: tuple[int, int], tmp_path: Path) -> None:
    rng = np.random.default_rng(41 + padding)
    cin, cout = 3, 4
    w = rng.integers(-127, 128, size=(cout, 3, 3, cin), dtype=np.int8)
    w_scales = list(rng.uniform(0.002, 0.02, cout))
    tensors = [T("shape", (4,), "int32", data=np.array([1, *out_size, cout], np.int32)),
               T("w", w.shape, "int8", w_scales, [0] * cout, 0, w),
               T("x", (1, 5, 6, cin), "int8", [0.05], [-3]),
               T("b", (cout,), "int32", [0.05 * s for s in w_scales], [0] * cout, 0,
                 rng.integers(-2000, 2000, size=cout, dtype=np.int32)),
               T("y", (1, *out_size, cout), "int8", [0.1], [4])]
    model = build(tensors, [Op("TRANSPOSE_CONV", [0, 1, 2, 3], [4], "TransposeConvOptions",
                               {"Padding": padding, "StrideW": 2, "StrideH": 2})], [2], [4])
    x = rng.integers(-128, 128, size=(4, 5, 6, cin), dtype=np.int8)
    _compile_and_compare(model, x, tmp_path, f"tconv{padding}")


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("padding", [0, 1])
def test_pools_match_tflite_micro(op: str, padding: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(3 + padding)
    scale, zp = _qparams(rng)
    out_shape = (1, 4, 3, 8) if padding == 0 else (1, 3, 2, 8)  # SAME: ceil(n / 2); VALID: (n - 1) // 2
    model = build([T("x", (1, 7, 6, 8), "int8", scale, zp), T("y", out_shape, "int8", scale, zp)],
                  [Op(op, [0], [1], "Pool2DOptions", {"Padding": padding, "StrideW": 2, "StrideH": 2,
                                                      "FilterWidth": 3, "FilterHeight": 3})], [0], [1])
    x = rng.integers(-128, 128, size=(16, 7, 6, 8), dtype=np.int8)
    _compile_and_compare(model, x, tmp_path, op.lower())


@pytest.mark.parametrize("keep_dims", [0, 1])
@pytest.mark.parametrize("axes", [[1, 2], [2, 1], [-3, -2]])
def test_mean_over_h_w_matches_tflite_micro(keep_dims: int, axes: list[int], tmp_path: Path) -> None:
    """MEAN over H, W (Keras GlobalAveragePooling2D): TFLM's integer mean, with random input and output
    parameters (and once the output's equal to the input's), counts that are and are not powers of two."""
    rng = np.random.default_rng(17 + keep_dims + 3 * axes[0])
    for trial, (height, width) in enumerate([(6, 6), (4, 8), (3, 5), (1, 1)]):
        scale, zp = _qparams(rng)
        out_scale, out_zp = (scale, zp) if trial == 0 else _qparams(rng)
        channels = 7
        out_shape = (1, 1, 1, channels) if keep_dims else (1, channels)
        model = build([T("x", (1, height, width, channels), "int8", scale, zp),
                       T("axes", (len(axes),), "int32", data=np.asarray(axes, np.int32)),
                       T("y", out_shape, "int8", out_scale, out_zp)],
                      [Op("MEAN", [0, 1], [2], "ReducerOptions", {"KeepDims": bool(keep_dims)})], [0], [2])
        x = rng.integers(-128, 128, size=(8, height, width, channels), dtype=np.int8)
        x[0] = 127  # the extremes: the sum's bounds
        x[1] = -128
        _compile_and_compare(model, x, tmp_path, f"mean{keep_dims}_{trial}")


# (operator, input shape, axes, keep_dims): MEAN over the channels (mean_keepdims_channels.tflite's second
# MEAN), over everything, over one spatial axis, over a 3-D sequence's steps; SUM, REDUCE_MAX, REDUCE_MIN
REDUCTIONS = [("MEAN", (1, 6, 6, 8), [-1], True), ("MEAN", (1, 4, 5, 3), [1, 2, 3], False),
              ("MEAN", (1, 5, 7, 4), [2], True), ("MEAN", (1, 9, 6), [1], False), ("MEAN", (1, 2, 35), [1, 2], True),
              ("SUM", (1, 4, 4, 6), [3], True), ("SUM", (1, 7, 5), [1], False),
              ("REDUCE_MAX", (1, 4, 6, 5), [1, 3], False), ("REDUCE_MIN", (1, 3, 8), [-1], True)]


@pytest.mark.parametrize("case", range(len(REDUCTIONS)), ids=[f"{r[0]}{r[2]}" for r in REDUCTIONS])
def test_reductions_over_any_axes_match_tflite_micro(case: int, tmp_path: Path) -> None:
    """TFLM's int8 MEAN / SUM (the sum of q - zp_in requantized once; MEAN's 1 / count folded into the
    multiplier by truncation) and REDUCE_MAX / REDUCE_MIN (raw values, the input's parameters) over any axes,
    random input and output parameters, counts that are and are not powers of two (2 * 35 = 70 values)."""
    op, shape, axes, keep_dims = REDUCTIONS[case]
    rng = np.random.default_rng(41 + case)
    scale, zp = _qparams(rng)
    out_scale, out_zp = (scale, zp) if op.startswith("REDUCE") else _qparams(rng)
    reduced = {a % len(shape) for a in axes}
    out_shape = tuple(1 if k in reduced else d for k, d in enumerate(shape) if keep_dims or k not in reduced)
    model = build([T("x", shape, "int8", scale, zp), T("axes", (len(axes),), "int32", data=np.asarray(axes, np.int32)),
                   T("y", out_shape, "int8", out_scale, out_zp)],
                  [Op(op, [0, 1], [2], "ReducerOptions", {"KeepDims": keep_dims})], [0], [2])
    x = rng.integers(-128, 128, size=(8, *shape[1:]), dtype=np.int8)
    x[0], x[1] = 127, -128  # the extremes: the sum's bounds
    _compile_and_compare(model, x, tmp_path, f"{op.lower()}{case}")


def test_fully_connected_reshape_concat_pad_match_tflite_micro(tmp_path: Path) -> None:
    """PAD -> CONCATENATION (with itself) -> RESHAPE -> FULLY_CONNECTED (per-channel weights)."""
    rng = np.random.default_rng(13)
    scale, zp = _qparams(rng)
    w = rng.integers(-127, 128, size=(10, 2 * 4 * 4 * 6), dtype=np.int8)
    w_scales = list(rng.uniform(0.002, 0.02, 10))
    tensors = [T("x", (1, 2, 2, 6), "int8", scale, zp),
               T("paddings", (4, 2), "int32", data=np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)),
               T("padded", (1, 4, 4, 6), "int8", scale, zp),
               T("joined", (1, 4, 4, 12), "int8", scale, zp),
               T("shape", (2,), "int32", data=np.array([1, 192], np.int32)),
               T("flat", (1, 192), "int8", scale, zp),
               T("w", w.shape, "int8", w_scales, [0] * 10, 0, w),
               T("b", (10,), "int32", [scale[0] * s for s in w_scales], [0] * 10, 0,
                 rng.integers(-500, 500, size=10, dtype=np.int32)),
               T("y", (1, 10), "int8", *_qparams(rng))]
    ops = [Op("PAD", [0, 1], [2], "PadOptions"),
           Op("CONCATENATION", [2, 2], [3], "ConcatenationOptions", {"Axis": 3}),
           Op("RESHAPE", [3, 4], [5], "ReshapeOptions"),
           Op("FULLY_CONNECTED", [5, 6, 7], [8], "FullyConnectedOptions", {"FusedActivationFunction": 1})]
    x = rng.integers(-128, 128, size=(16, 2, 2, 6), dtype=np.int8)
    _compile_and_compare(build(tensors, ops, [0], [8]), x, tmp_path, "chain")


# --- what is refused ---------------------------------------------------------------------------------

def _single_line_error(tinygen_cli, path: Path, *expected: str) -> str:
    result = tinygen_cli("compile", str(path), "-o", str(path.parent / "out"))
    assert result.code == 2 and "Traceback" not in result.err
    first = result.err.strip().splitlines()[0]
    for text in expected:
        assert text in first, result.err
    return first


def test_other_formats_get_one_line(tmp_path: Path, tinygen_cli) -> None:
    pickle_pt = tmp_path / "legacy.pt"
    pickle_pt.write_bytes(b"\x80\x02}q\x00.")
    _single_line_error(tinygen_cli, pickle_pt, "pickle", "PyTorch")
    zip_pt = tmp_path / "model.pth"
    with zipfile.ZipFile(zip_pt, "w") as archive:
        archive.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("model/version", b"3\n")
    _single_line_error(tinygen_cli, zip_pt, "PyTorch checkpoint")
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    _single_line_error(tinygen_cli, h5, "HDF5", "Keras")
    keras = tmp_path / "model.keras"
    with zipfile.ZipFile(keras, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    _single_line_error(tinygen_cli, keras, ".keras")
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"\x08\x01")
    _single_line_error(tinygen_cli, saved, "SavedModel")
    np.save(tmp_path / "x.npy", np.zeros(3))
    _single_line_error(tinygen_cli, tmp_path / "x.npy", "NumPy")
    np.savez(tmp_path / "x.npz", x=np.zeros(3))
    _single_line_error(tinygen_cli, tmp_path / "x.npz", "NumPy .npz")


def test_frontend_is_chosen_by_content(tmp_path: Path) -> None:
    renamed = tmp_path / "kws.bin"
    renamed.write_bytes(model_file("kws_dscnn", "int8").with_suffix(".tflite").read_bytes())
    assert tinygen.compile(renamed, tmp_path / "out").manifest["model_file"] == "kws.bin"


@pytest.mark.parametrize("keep", [6, 200, 4000])
def test_truncated_tflite_is_refused(tmp_path: Path, keep: int, tinygen_cli) -> None:
    data = model_file("kws_dscnn", "int8").with_suffix(".tflite").read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:keep])
    _single_line_error(tinygen_cli, path, "truncated")


def test_several_subgraphs_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.tflite"
    path.write_bytes(build([T("x", (1, 8), "int8", [0.1], [0]), T("y", (1, 8), "int8", [0.1], [0])],
                           [Op("RELU", [0], [1])], [0], [1], subgraphs=2))
    with pytest.raises(ModelError, match="2 subgraphs"):
        tinygen.compile(path, tmp_path / "out")


@pytest.mark.parametrize("op,message", [
    ("GATHER", "operator GATHER is not supported yet"),
])
def test_unsupported_operators_are_named(op: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "m.tflite"
    path.write_bytes(build([T("x", (1, 2, 2, 8), "int8", [0.1], [0]), T("y", (1, 2, 2, 8), "int8", [0.1], [0])],
                           [Op(op, [0], [1])], [0], [1]))
    with pytest.raises(UnsupportedModelError, match=message):
        tinygen.compile(path, tmp_path / "out")


def test_int16_activations_of_operators_without_16x8_kernels_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.tflite"
    path.write_bytes(build([T("x", (1, 8), "int16", [0.001], [0]), T("y", (1, 8), "int16", [0.001], [0])],
                           [Op("RELU", [0], [1])], [0], [1]))
    with pytest.raises(UnsupportedModelError, match=r"RELU with 16-bit activations \(16x8\) is not supported yet"):
        tinygen.compile(path, tmp_path / "out")


def test_float_edges_match_tflite_micro(tmp_path: Path, tinygen_cli) -> None:
    """float input -> QUANTIZE -> ... -> DEQUANTIZE -> float output: the QUANTIZE and DEQUANTIZE are
    the generated API's float boundary; its floats equal TFLM's bit for bit."""
    rng = np.random.default_rng(17)
    tensors = [T("x", (1, 4, 4, 8), "float32"), T("q", (1, 4, 4, 8), "int8", [0.03], [-7]),
               T("r", (1, 4, 4, 8), "int8", [0.02], [-128]), T("y", (1, 4, 4, 8), "float32")]
    ops = [Op("QUANTIZE", [0], [1]), Op("RELU", [1], [2]), Op("DEQUANTIZE", [2], [3])]
    model = build(tensors, ops, [0], [3])
    path = tmp_path / "edges.tflite"
    path.write_bytes(model)
    compiled = tinygen.compile(path, tmp_path / "out")
    assert [io["name"] for io in compiled.inputs] == ["x"] and [io["name"] for io in compiled.outputs] == ["y"]
    assert compiled.manifest["layers"] == 1  # only the RELU runs code
    x = (rng.standard_normal((32, 4, 4, 8)) * 3).astype(np.float32)
    expected = tflite_micro(model, x)
    assert expected.dtype == np.float32
    assert_identical(expected, compiled.run(x).reshape(expected.shape), "float API vs tflite-micro")
    result = tinygen_cli("verify", str(compiled.out_dir))
    assert result.code == 0 and "100.0% exact" in result.out, result.out + result.err
