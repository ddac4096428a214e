"""Issue 12 on the emulated Cortex-M4: an LSTM, a GRU and the keyword transformer of
tests/fixtures/sequence_models give the same bytes on qemu_m4 as the golden reference and the host
simulator (the recurrence's C loop, its state in the arena, the attention products' strides)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tinygen

from ..conftest import assert_identical
from .test_firmware import run_on_target

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sequence_models"
MODELS = [("har_lstm_legacy", "har_lstm"), ("har_gru_dynamo_qdq", "har_gru"), ("kwt_legacy", "kwt")]
SAMPLES = 4


def test_sequence_models_on_qemu_m4_equal_golden_and_host(tinygen_cli, tmp_path: Path) -> None:
    for name, prefix in MODELS:
        calib = FIXTURES / f"{prefix}_calib.npy"
        model = tinygen.compile(FIXTURES / f"{name}.onnx", tmp_path / name, calib=str(calib), warn=lambda _: None)
        x = model.quantize(model.inputs[0], np.load(calib)[:SAMPLES])
        folder = tmp_path / f"{name}_run"
        folder.mkdir()
        on_m4 = run_on_target(tinygen_cli, model, x, "qemu_m4", folder)
        assert on_m4.dtype == np.int8
        assert_identical(model.golden(x, int8=True), on_m4, f"{name}: golden vs qemu_m4")
        assert_identical(model.run(x, int8=True), on_m4, f"{name}: host simulator vs qemu_m4")
