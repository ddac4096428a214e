"""Issue 11: onnxruntime's QOperator files of the user models (tests/fixtures/user_models/*_qop.onnx,
`quantize_static(..., quant_format=QuantFormat.QOperator)`) compile with the file's own parameters (the
calibration file is passed only for what onnxruntime left in float, e.g. a ReLU after a QLinearAdd); the
golden reference equals the generated C bit for bit on every calibration input; and tinygen's int8
output against onnxruntime's float output is at most 1 dB below onnxruntime's own run of the same
QOperator file (versions_user.json, `sqnr_db_ort_int8_disable_all`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.verification import sqnr_db

from .conftest import assert_identical

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "user_models"
# Known gaps, each with what was measured (an xfail that starts passing fails: strict).
OPEN: dict[str, str] = {}
FILES = [pytest.param(path.stem, marks=pytest.mark.xfail(reason=OPEN[path.stem], strict=True))
         if path.stem in OPEN else path.stem for path in sorted(FIXTURES.glob("*_qop.onnx"))]


def record(stem: str) -> tuple[dict, dict]:
    models = json.loads((FIXTURES / "versions_user.json").read_text())["models"]
    net = next(name for name in models if f"{stem}.onnx" in models[name]["files"])
    return models[net], models[net]["files"][f"{stem}.onnx"]


@pytest.mark.parametrize("stem", FILES)
def test_qoperator_user_model(stem: str, tmp_path: Path) -> None:
    net, entry = record(stem)
    calib = FIXTURES / net["calib"].split(":")[0]  # "file.npy: how it was made"
    model = tinygen.compile(FIXTURES / f"{stem}.onnx", tmp_path / "out", calib=str(calib), warn=lambda _: None)
    x = np.load(calib)
    q = model.quantize(model.inputs[0], x)
    host = model.run(q, int8=True)
    assert_identical(model.golden(q, int8=True), host, f"{stem}: golden vs host C")
    expected = np.load(FIXTURES / f"{stem.rsplit('_', 2)[0]}_expected.npy")
    sqnr = sqnr_db(expected, model.dequantize(model.outputs[0], host).reshape(expected.shape))
    baseline = float(entry["sqnr_db_ort_int8_disable_all"])
    print(f"{stem}: SQNR {sqnr:.1f} dB (onnxruntime's run of the file {baseline:.1f} dB)")
    assert sqnr >= baseline - 1.0, f"{stem}: {sqnr:.1f} dB < {baseline:.1f} dB - 1 dB"
