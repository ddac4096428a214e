"""TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM (TFLM's integer LSTM: int8 activations and weights, int16 cell state)
compiles bit-exact with tflite-micro: the Keras-made fixtures (tests/fixtures/tflite/lstm*.tflite and the HAR-size
sequence_models/keras_lstm_int8.tflite) on every saved input and on random ones, and random single-LSTM models
built here (sizes, steps, time-major or not, input / hidden / weight / bias scales, cell scales 2^-15 .. 2^-8,
cell clip on and off, biases near the int32 bound) against the interpreter, golden == host C (ASan/UBSan) ==
tflite-micro. LSTM variants TFLM's integer kernel does not run are refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.errors import UnsupportedModelError
from tinygen.ops.lstm import sigmoid16, tanh16

from ..conftest import REPO, assert_identical
from .tflite_builder import Op, T, build, tflite_micro

FIXTURES = REPO / "tests" / "fixtures"
FILES = {"lstm": FIXTURES / "tflite" / "lstm.tflite", "lstm_sequences": FIXTURES / "tflite" / "lstm_sequences.tflite",
         "keras_lstm_int8": FIXTURES / "sequence_models" / "keras_lstm_int8.tflite"}
RANDOM_INPUTS = 16


def _check(compiled: tinygen.model.CompiledModel, model: bytes, x: np.ndarray, label: str,
           expected: np.ndarray | None = None) -> None:
    """golden == host C (sanitized) == tflite-micro (or the stored tflite-micro outputs) on every sample."""
    reference = tflite_micro(model, x)
    if expected is not None:
        assert_identical(expected.reshape(reference.shape), reference, f"{label}: stored vs tflite-micro now")
    host = compiled.run(x, int8=True, sanitize=True)
    golden = compiled.golden(x, int8=True)
    assert_identical(reference, golden.reshape(reference.shape), f"{label}: golden vs tflite-micro")
    assert_identical(reference, host.reshape(reference.shape), f"{label}: host C vs tflite-micro")


@pytest.mark.parametrize("name", list(FILES))
def test_fixture_files_match_tflite_micro(name: str, tmp_path: Path) -> None:
    path = FILES[name]
    model = path.read_bytes()
    compiled = tinygen.compile(path, tmp_path / "out")
    with np.load(path.with_name(f"{name}_io.npz")) as io:
        saved = {key: io[key] for key in io.files}
    x = saved["x_int8"].reshape(-1, *compiled.inputs[0]["onnx_shape"][1:])
    _check(compiled, model, x, f"{name} saved inputs", saved["y_int8"])
    if "x_calib_int8" in saved:  # the Keras LSTM's calibration inputs: real sequences, not noise
        calib = saved["x_calib_int8"].reshape(-1, *x.shape[1:])
        _check(compiled, model, calib, f"{name} calibration inputs", saved["y_calib_int8"])
    rng = np.random.default_rng(sum(map(ord, name)))
    noise = rng.integers(-128, 128, size=(RANDOM_INPUTS, *x.shape[1:]), dtype=np.int8)
    noise[0], noise[1] = 127, -128  # the extremes saturate every gate
    _check(compiled, model, noise, f"{name} random inputs")


def lstm_model(rng: np.random.Generator, steps: int, size: int, hidden: int, *, time_major: bool = False,
               cell_power: int = -11, cell_clip: float = 0.0, huge_bias: bool = False,
               omit: tuple[int, ...] = (), extra: dict[int, T] | None = None, activation: int = 4) -> bytes:
    """One UNIDIRECTIONAL_SEQUENCE_LSTM with random int8 weights (one scale per matrix), int32 biases, an int8
    hidden state and an int16 cell state of scale 2^cell_power, as the converter lays it out: 24 inputs (-1
    for the absent peepholes, projection and layer norm; `omit` and `extra` change that)."""
    def scale(low: float, high: float) -> list[float]:
        return [float(np.float32(2.0 ** rng.uniform(low, high)))]

    def zero_point() -> list[int]:
        return [int(rng.choice([-128, 127]))] if rng.random() < 0.2 else [int(rng.integers(-128, 128))]

    x_scale, h_scale = scale(-8, -3), scale(-9, -5)
    x_shape = (steps, 1, size) if time_major else (1, steps, size)
    y_shape = (steps, 1, hidden) if time_major else (1, steps, hidden)
    x_zp = zero_point()
    tensors = [T("x", x_shape, "int8", x_scale, x_zp)]
    inputs = [0] + [-1] * 23
    for gate in range(4):  # input weights 1..4, recurrent weights 5..8
        for k, depth in ((1, size), (5, hidden)):
            w = rng.integers(-127, 128, size=(hidden, depth), dtype=np.int8)
            inputs[k + gate] = len(tensors)
            tensors.append(T(f"w{k + gate}", w.shape, "int8", scale(-10, -5), [0], 0, w))
    for gate in range(4):  # biases 12..15, scale s_x * s_w as the converter writes them
        w_scale = tensors[inputs[1 + gate]].scale
        assert w_scale is not None
        spread = 2**30 if huge_bias and gate == 1 else 2**14
        b = rng.integers(-spread, spread, size=hidden, dtype=np.int32)
        inputs[12 + gate] = len(tensors)
        tensors.append(T(f"b{gate}", (hidden,), "int32", [x_scale[0] * w_scale[0]], [0], 0, b))
    inputs[18] = len(tensors)
    h_zp = zero_point()
    tensors.append(T("h_state", (1, hidden), "int8", h_scale, h_zp, variable=True))
    inputs[19] = len(tensors)
    tensors.append(T("c_state", (1, hidden), "int16", [2.0**cell_power], [0], variable=True))
    for index in omit:
        inputs[index] = -1
    for index, tensor in (extra or {}).items():
        inputs[index] = len(tensors)
        tensors.append(tensor)
    output = len(tensors)
    tensors.append(T("y", y_shape, "int8", h_scale, h_zp))
    options = {"FusedActivationFunction": activation, "CellClip": cell_clip, "ProjClip": 0.0,
               "TimeMajor": time_major}
    ops = [Op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [output], "UnidirectionalSequenceLSTMOptions", options)]
    if not time_major:
        return build(tensors, ops, [0], [output])
    # Time-major [steps, 1, features]: the model's own input and output are batch-first [1, steps * features]
    # (tinygen's API takes the first dimension as the batch), RESHAPEd to and from the LSTM's layout.
    first = len(tensors)
    tensors += [T("x_flat", (1, steps * size), "int8", x_scale, x_zp),
                T("x_dims", (3,), "int32", data=np.asarray(x_shape, np.int32)),
                T("y_flat", (1, steps * hidden), "int8", h_scale, h_zp),
                T("y_dims", (2,), "int32", data=np.asarray([1, steps * hidden], np.int32))]
    ops = [Op("RESHAPE", [first, first + 1], [0]), *ops, Op("RESHAPE", [output, first + 3], [first + 2])]
    return build(tensors, ops, [first], [first + 2])


# (steps, input size, hidden size, time-major, cell scale power, cell clip, huge bias)
RANDOM_LAYERS = [(1, 1, 1, False, -15, 0.0, False), (7, 5, 9, False, -11, 0.0, True),
                 (12, 3, 4, True, -12, 0.0, False), (5, 10, 16, False, -8, 1.5, False),
                 (9, 6, 7, False, -14, 0.3, False), (4, 2, 13, True, -10, 8.0, True)]


@pytest.mark.parametrize("layer", range(len(RANDOM_LAYERS)))
def test_random_lstm_layers_match_tflite_micro(layer: int, tmp_path: Path) -> None:
    steps, size, hidden, time_major, power, clip, huge_bias = RANDOM_LAYERS[layer]
    rng = np.random.default_rng(700 + layer)
    model = lstm_model(rng, steps, size, hidden, time_major=time_major, cell_power=power, cell_clip=clip,
                       huge_bias=huge_bias)
    path = tmp_path / "lstm.tflite"
    path.write_bytes(model)
    compiled = tinygen.compile(path, tmp_path / "out")
    x = rng.integers(-128, 128, size=(6, steps * size) if time_major else (6, steps, size), dtype=np.int8)
    x = np.concatenate([x, np.full_like(x[:1], 127), np.full_like(x[:1], -128)])
    _check(compiled, model, x, f"layer {RANDOM_LAYERS[layer]}")
    outputs = np.unique(compiled.golden(x, int8=True))
    assert outputs.size >= min(8, hidden * steps), f"outputs take only {outputs.size} values: a weak test"


def test_activations_match_tflite_micro_over_every_int16() -> None:
    """ops/lstm.py's sigmoid16 / tanh16 against TFLM's int16 LOGISTIC and TANH kernels (which the integer LSTM
    calls), over all 65536 inputs: a one-operator model of each with the power-of-two scales that make TFLM
    take the LSTM's path (input 2^-12, output 2^-15: multiplier 0, shift 0)."""
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 1, -1)
    for op, expected_fn in (("LOGISTIC", sigmoid16), ("TANH", lambda v: tanh16(v, 3, 0))):
        model = build([T("x", x.shape, "int16", [2.0**-12], [0]), T("y", x.shape, "int16", [2.0**-15], [0])],
                      [Op(op, [0], [1])], [0], [1])
        reference = tflite_micro(model, x).ravel()
        assert_identical(reference, expected_fn(x.ravel().astype(np.int64)).astype(np.int16), f"{op} int16")


@pytest.mark.parametrize("variant,message", [
    ({"extra": {9: T("peephole", (3,), "int16", [0.001], [0], data=np.ones(3, np.int16))}}, "peephole"),
    ({"omit": (1, 5)}, "CIFG"),
    ({"activation": 1}, "cell activation"),
    ({"cell_power": 2}, "cell state 'c_state' has scale 4"),
    ({"omit": (19,)}, r"lacks its inputs \[19\]"),
])
def test_lstm_variants_are_refused(variant: dict, message: str, tmp_path: Path) -> None:
    path = tmp_path / "lstm.tflite"
    path.write_bytes(lstm_model(np.random.default_rng(5), 3, 2, 3, **variant))
    with pytest.raises(UnsupportedModelError, match=message):
        tinygen.compile(path, tmp_path / "out")


def test_cli_inspect_compile_run_verify_report_on_an_lstm_tflite(tmp_path: Path, tinygen_cli) -> None:
    """The commands on the Keras LSTM .tflite (10 steps, last step -> dense): inspect names the TFLite operator
    and the layer, `run --int8` on the saved inputs gives tflite-micro's saved outputs, verify compares with
    tflite-micro (from a fresh LSTM state per sample) and finds every byte equal, report runs, and `tinygen
    ops` lists the operator beside the ONNX ones."""
    path = FILES["lstm"]
    inspected = tinygen_cli("inspect", path)
    assert inspected.code == 0, inspected.err
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in inspected.out and "lstm" in inspected.out, inspected.out
    out = tmp_path / "out"
    compiled = tinygen_cli("-q", "compile", path, "-o", out)
    assert compiled.code == 0, compiled.err
    with np.load(path.with_name("lstm_io.npz")) as io:
        x, y = io["x_int8"].reshape(-1, 10, 4), io["y_int8"]
    np.save(tmp_path / "x.npy", x)
    ran = tinygen_cli("-q", "run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", "--int8")
    assert ran.code == 0, ran.err
    assert_identical(y.reshape(len(x), -1), np.load(tmp_path / "y.npy").reshape(len(x), -1), "tinygen run --int8")
    verified = tinygen_cli("verify", out)
    assert verified.code == 0, verified.out + verified.err
    assert "tflite-micro" in verified.out and "100.0% exact" in verified.out, verified.out
    reported = tinygen_cli("report", out)
    assert reported.code == 0, reported.err
    assert "lstm" in reported.out, reported.out
    listed = tinygen_cli("ops")
    assert listed.code == 0
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in listed.out and "REDUCE_MAX" in listed.out and "LSTM" in listed.out


def test_keras_lstm_on_qemu_m4_equals_tflite_micro(pio_core: Path, tmp_path: Path, tinygen_cli) -> None:
    """The LSTM kernel on the emulated Cortex-M4 gives tflite-micro's bytes (the saved outputs of the Keras
    LSTM .tflite) and the host's."""
    path = FILES["keras_lstm_int8"]
    compiled = tinygen.compile(path, tmp_path / "out")
    with np.load(path.with_name("keras_lstm_int8_io.npz")) as io:
        x, y = io["x_int8"].reshape(-1, 50, 6), io["y_int8"].reshape(-1, 6)
    np.save(tmp_path / "x.npy", x)
    result = tinygen_cli("run", compiled.out_dir, "--target", "qemu_m4", "--int8", "--input", tmp_path / "x.npy",
                         "--output", tmp_path / "y.npy")
    assert result.code == 0, result.out + result.err
    on_m4 = np.load(tmp_path / "y.npy").reshape(y.shape)
    assert_identical(y, on_m4, "Keras LSTM: qemu_m4 vs tflite-micro")
    assert_identical(compiled.run(x, int8=True).reshape(y.shape), on_m4, "Keras LSTM: qemu_m4 vs host C")
