"""Real PyTorch exports (tests/fixtures/exporters, made by tests/fixtures/make_exporter_models.py):
four small nets, each exported by the legacy and the torch.export-based exporter, with and
without the exporters' own graph optimizations. Each file compiles with its calibration data,
the generated C equals the golden reference bit for bit, the int8 output stays within the
quantization bound of onnxruntime's float output, and every export of one net becomes the same
layers.

The bound (see tests/ops/harness.py): these are chains of up to ~20 requantized layers, so the
noise of each layer adds up; the SQNR floor of 25 dB is ~15 dB under what the nets reach
(40-50 dB), and the largest error may be a few steps of the coarsest activation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ..ops.harness import (
    Case,
    Result,
    check_close_to_float,
    check_golden_equals_host,
    compile_file,
)

EXPORTERS = Path(__file__).resolve().parent.parent / "fixtures" / "exporters"
ALL_FILES = sorted(p.name for p in EXPORTERS.glob("*.onnx"))
ALL_NETS = sorted({re.sub(r"_(legacy|dynamo).*", "", name) for name in ALL_FILES})
VARIANTS = ["legacy", "legacy_unfolded", "dynamo", "dynamo_unoptimized"]
NETS = ALL_NETS
FILES = ALL_FILES

# What each net must become (the same for every export of it): BatchNorm folded, ReLU6 / ReLU
# fused, Flatten of the 4x4 map folded into the Linear's weights, the SE block's Hardsigmoid and
# Mul kept, GELU's Erf as a table.
EXPECTED_OPS = {
    "cnn": ["conv2d", "max_pool", "conv2d", "max_pool", "reshape", "fully_connected"],
    "conv1d": ["conv2d", "max_pool", "conv2d", "avg_pool", "reshape", "fully_connected"],
    "mobilenetv3_block": None,
    # GELU (Div, Erf, Add, Mul, Mul as exported) is one table after passes/fuse_elementwise.py.
    "mlp": ["fully_connected", "lut", "fully_connected", "lut", "fully_connected"],
    # LayerNormalization (opset 17 and 18 exports) is one integer layer (ops/layernorm.py).
    "layernorm_mlp": ["fully_connected", "layer_norm", "lut", "fully_connected"],
}


def net_of(file_name: str) -> str:
    return re.sub(r"_(legacy|dynamo).*", "", file_name)


class ExporterCases:
    """Compiles each fixture once per session."""

    def __init__(self, factory: pytest.TempPathFactory):
        self.factory = factory
        self.results: dict[str, Result] = {}

    def __call__(self, file_name: str) -> Result:
        if file_name not in self.results:
            case = Case(file_name, lambda: None, steps=4.0, sqnr_db=25.0)  # type: ignore[arg-type,return-value]
            calib = np.load(EXPORTERS / f"{net_of(file_name)}_calib.npy")
            folder = self.factory.mktemp(Path(file_name).stem)
            self.results[file_name] = compile_file(case, EXPORTERS / file_name, {"x": calib}, folder)
        return self.results[file_name]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> ExporterCases:
    return ExporterCases(tmp_path_factory)


def test_every_net_has_every_export() -> None:
    assert NETS == ["cnn", "conv1d", "layernorm_mlp", "mlp", "mobilenetv3_block"]
    assert sorted(f"{net}_{variant}.onnx" for net in ALL_NETS for variant in VARIANTS) == ALL_FILES
    versions = json.loads((EXPORTERS / "versions.json").read_text())
    assert versions["torch"].startswith("2.13.0")
    assert sorted(versions["models"]) == ALL_NETS


@pytest.mark.parametrize("file_name", FILES)
def test_golden_equals_host_c(exported: ExporterCases, file_name: str) -> None:
    check_golden_equals_host(exported(file_name))


@pytest.mark.parametrize("file_name", FILES)
def test_close_to_onnxruntime(exported: ExporterCases, file_name: str) -> None:
    check_close_to_float(exported(file_name))


@pytest.mark.parametrize("net", NETS)
def test_every_export_of_a_net_gives_the_same_layers(exported: ExporterCases, net: str) -> None:
    # Reshapes are aliases (no code), and the exporters write different numbers of them.
    layers = {variant: sorted(op for op in exported(f"{net}_{variant}.onnx").ir_ops if op != "reshape")
              for variant in VARIANTS}
    assert len({tuple(ops) for ops in layers.values()}) == 1, layers
    ops = exported(f"{net}_legacy.onnx").ir_ops
    assert "batch_norm" not in ops and "transpose" not in ops
    if EXPECTED_OPS[net] is not None:
        assert sorted(ops) == sorted(EXPECTED_OPS[net])
    if net == "mobilenetv3_block":
        assert ops.count("depthwise_conv2d") == 3 and ops.count("mul") == 2 and ops.count("add") == 2
        assert ops.count("lut") == 7  # 5 Hardswish + 2 Hardsigmoid (the ReLUs are fused)
