"""The 16x8 kernels (issue 16: int16 activations, int8 weights) against their golden reference.

Each case is one of the int8 op tests' models (tests/ops/test_<op>.py) compiled with
`activations="int16"`: every layer that has a 16x8 kernel runs it (tg_s16.h), the others stay int8 with
conversions around them. Checked
  * bit for bit: golden == the generated C on the host, built with ASan/UBSan, on the calibration samples
    and on inputs drawn uniformly over the whole int16 range (the extremes included), so every kernel sees
    saturating sums and clamps;
  * against onnxruntime's float: the int16 output's SQNR must beat the int8 floor of the same case by
    HEADROOM_DB (a 16-bit activation step is 256 times finer; the int8 weights' rounding then dominates).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen

from ..conftest import assert_identical
from . import test_concat, test_conv, test_elementwise, test_fully_connected, test_pool, test_softmax
from .harness import Case, calibration_inputs, onnxruntime_outputs, save_calibration, sqnr_db

HEADROOM_DB = 6.0
SAMPLES = 8
PICK = {
    test_conv: ["conv_3x3_pad1", "conv_stride_2x1", "conv_dilation_1x3", "depthwise_stride2_asym",
                "depthwise_multiplier2", "grouped_2", "conv1d_k3"],
    test_fully_connected: ["gemm_no_trans", "matmul_rank3_tokens"],
    test_pool: ["maxpool_3x3_pads", "avgpool_pads_include", "avgpool_ceil_exclude", "global_avgpool"],
    test_elementwise: ["add_broadcast_channel_runtime", "sub_const_minus_x", "mul_same_shape", "mul_scalar",
                       "conv_residual_add"],
    test_softmax: ["softmax_channels_fmap", "softmax_height_fmap"],
    test_concat: ["concat_conv_branches", "concat_fmap_constant_channels"],
}
CASES = [case for module, ids in PICK.items() for case in module.CASES if case.id in ids]
S16_OPS = {"conv2d", "depthwise_conv2d", "fully_connected", "max_pool", "avg_pool", "add", "mul", "softmax", "concat"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Case, tinygen.CompiledModel, Path]]:
    results = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(re.sub(r"[^0-9A-Za-z_]", "_", case.id)[:40])
        model = case.build()
        path = folder / "model.onnx"
        onnx.save(model, path)
        data = calibration_inputs(model, case)
        compiled_model = tinygen.compile(path, folder / "out", calib=str(save_calibration(folder, data)),
                                         activations="int16")
        results[case.id] = (case, compiled_model, folder)
    return results


def _inputs(model: tinygen.CompiledModel, case: Case) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(calibration samples as float, full-range int16 inputs) for every model input."""
    data = calibration_inputs(onnx.load(model.out_dir / ".tinygen" / "model.onnx"), case)
    rng = np.random.default_rng(case.seed + 7)
    extremes = {}
    for io in model.inputs:
        shape = (SAMPLES, *io["onnx_shape"][1:])
        values = rng.integers(-32768, 32768, size=shape, dtype=np.int64)
        values.reshape(SAMPLES, -1)[0, :2] = (-32768, 32767)
        extremes[io["name"]] = values.astype(io["dtype"])
    return {k: v[:SAMPLES] for k, v in data.items()}, extremes


@pytest.mark.parametrize("case", CASES, ids=str)
def test_s16_golden_equals_host_c(compiled: dict, case: Case) -> None:
    _, model, _ = compiled[case.id]
    kernels = {layer["op"]: layer["function"] for layer in model.manifest["layer_list"] if layer["function"]}
    s16 = [op for op in kernels if op in S16_OPS]
    assert s16 and all(kernels[op].endswith("_s16") for op in s16), f"{case.id}: kernels {kernels}"
    floats, extremes = _inputs(model, case)
    for label, batch in (("samples", {io["name"]: model.quantize(io, floats[io["name"]]) for io in model.inputs}),
                         ("full int16 range", extremes)):
        golden = model.golden(batch, int8=True)
        host = model.run(batch, int8=True, sanitize=True)
        for io in model.outputs:
            g = golden[io["name"]] if isinstance(golden, dict) else golden
            h = host[io["name"]] if isinstance(host, dict) else host
            assert g.dtype == np.int16 and h.dtype == np.int16
            assert_identical(g, h, f"{case.id} ({label}): output '{io['name']}' golden vs host C")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_s16_closer_to_float_than_int8(compiled: dict, case: Case) -> None:
    _, model, folder = compiled[case.id]
    floats, _ = _inputs(model, case)
    reference = onnxruntime_outputs(folder / "model.onnx", floats)
    output = model.run(floats)
    outputs = [output[io["name"]] for io in model.outputs] if isinstance(output, dict) else [output]
    for io, y, ref in zip(model.outputs, outputs, reference, strict=True):
        sqnr = sqnr_db(ref, y.reshape(ref.shape))
        print(f"{case.id}: output '{io['name']}' int16 SQNR {sqnr:.1f} dB (int8 floor {case.sqnr_db:.1f})")
        assert sqnr >= case.sqnr_db + HEADROOM_DB, f"{case.id}: int16 SQNR {sqnr:.1f} dB"
