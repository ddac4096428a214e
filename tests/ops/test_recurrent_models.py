"""The exported recurrent models of tests/fixtures/sequence_models (PyTorch's legacy and torch.export exporters,
onnxruntime's QDQ versions, tf2onnx's Keras LSTM): each compiles from its float or QDQ file with its calibration
inputs, the golden reference equals the host C (ASan/UBSan) on all of them byte for byte, and the int8 output's SQNR
against onnxruntime's float output (`<net>_expected.npy`) stays at what was measured (printed beside the baseline:
onnxruntime's own int8 of README_torch.md, whose LSTM/GRU stays float; for the Keras LSTM, tflite-micro's integer
LSTM of README_keras.md). LSTM: har_lstm 42.6 dB (43.3), bilstm 41.0 dB from the float and the QDQ files
(40.8), the Keras LSTM 38.7 (tflite-micro 37.3): Y and Y_h are rounded once from the layer's product with their own
parameters (the range of the steps the model reads, or a QDQ model's for them). GRU: har_gru is within 1 dB of that
baseline (41.9 vs 42.7 dB); gru_hn is 1.2 dB below (40.1 vs 41.3): its int8 input alone costs more than 1 dB against
onnxruntime's float GRU (a float emulation quantizing only x reaches 40.0 dB), the rest of the int8 recurrence
another ~0.3. The models read the last step through Gather / Slice (the data-movement ops); without them the test is
skipped, saying so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.ops import ONNX_IMPORTERS

from ..conftest import assert_identical
from .harness import sqnr_db

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sequence_models"
# file -> (calibration / expected prefix, SQNR floor in dB: measured less 0.5, onnxruntime's int8 baseline)
MODELS = {
    "har_lstm_legacy": ("har_lstm", 42.1, 43.3),
    "har_lstm_dynamo_qdq": ("har_lstm", 42.1, 43.3),
    "har_gru_dynamo": ("har_gru", 41.4, 42.7),
    "har_gru_legacy_qdq": ("har_gru", 41.4, 42.7),
    "bilstm_dynamo": ("bilstm", 40.5, 40.8),
    "bilstm_legacy_qdq": ("bilstm", 40.5, 40.8),
    "gru_hn_legacy": ("gru_hn", 39.6, 41.3),
    "gru_hn_dynamo_qdq": ("gru_hn", 39.6, 41.3),
    "keras_lstm_tf2onnx": ("keras_lstm", 38.2, 37.3),  # baseline: tflite-micro's integer LSTM (README_keras.md)
}
SLOW = {"har_lstm_dynamo": ("har_lstm", 42.1, 43.3), "har_lstm_legacy_qdq": ("har_lstm", 42.1, 43.3),
        "har_gru_legacy": ("har_gru", 41.4, 42.7), "har_gru_dynamo_qdq": ("har_gru", 41.4, 42.7),
        "bilstm_legacy": ("bilstm", 40.5, 40.8), "bilstm_dynamo_qdq": ("bilstm", 40.5, 40.8),
        "gru_hn_dynamo": ("gru_hn", 39.6, 41.3), "gru_hn_legacy_qdq": ("gru_hn", 39.6, 41.3),
        "keras_lstm_tf2onnx_batch1": ("keras_lstm", 38.2, 37.3)}
CASES = [pytest.param(name, *spec, id=name) for name, spec in MODELS.items()] + [
    pytest.param(name, *spec, id=name, marks=pytest.mark.slow) for name, spec in SLOW.items()]


@pytest.mark.parametrize("name,prefix,floor,baseline", CASES)
def test_exported_recurrent_model(name: str, prefix: str, floor: float, baseline: float,
                                  tmp_path: Path) -> None:
    if ("", "Gather") not in ONNX_IMPORTERS or ("", "Slice") not in ONNX_IMPORTERS:
        pytest.skip("the last-step Gather / Slice needs the data-movement ops")
    calib = FIXTURES / f"{prefix}_calib.npy"
    model = tinygen.compile(FIXTURES / f"{name}.onnx", tmp_path / "out", calib=str(calib), warn=lambda _: None)
    x = np.load(calib)
    quantized = model.quantize(model.inputs[0], x)
    golden = model.golden(quantized, int8=True)
    host = model.run(quantized, int8=True, sanitize=True)
    assert isinstance(golden, np.ndarray) and isinstance(host, np.ndarray)
    assert_identical(golden, host, f"{name}: golden vs host C")
    expected = np.load(FIXTURES / f"{prefix}_expected.npy")
    sqnr = sqnr_db(expected, model.dequantize(model.outputs[0], host).reshape(expected.shape))
    print(f"{name}: SQNR {sqnr:.2f} dB against onnxruntime float; the int8 baseline {baseline} dB")
    assert sqnr >= floor, f"{name}: SQNR {sqnr:.1f} dB < {floor} dB"


def test_bidirectional_y_is_calibrated_on_the_elements_read(tmp_path: Path) -> None:
    """bilstm's `output[:, -1]` (the forward direction's last step, the reverse one's first) is not Y_h: Y stays,
    read by one copy, and its parameters come from the elements that copy reads, narrower than the hidden
    state's range over every step (ops/lstm.py _read_range), so Y's int8 steps are finer than h's."""
    if ("", "Gather") not in ONNX_IMPORTERS:
        pytest.skip("the last-step Gather needs the data-movement ops")
    model = tinygen.compile(FIXTURES / "bilstm_legacy.onnx", tmp_path / "out",
                            calib=str(FIXTURES / "bilstm_calib.npy"), warn=lambda _: None)
    lstm = next(node for node in model.graph.nodes if node.op == "lstm")
    p = lstm.params
    assert lstm.attrs["roles"] == ["y"]
    y_step = 2.0 ** (31 - p["y_shift"]) / p["y_multiplier"]  # s_Y / 2^-30
    h_step = 2.0 ** (31 - p["hidden_shift"]) / p["hidden_multiplier"]
    assert y_step < h_step * 0.995, (y_step, h_step)
