"""--precision auto (tinygen/quantize/precision_auto.py) on the digits CNN: a flash ceiling is met with the
fewest int4 layers, an SQNR floor holds with as many as it allows, the result is what the golden reference
and the host C give, and a target that cannot be met is a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.errors import TinygenError
from tinygen.reporting import build_report

from ..conftest import assert_identical

DIGITS = Path(__file__).parents[1] / "fixtures" / "digits"
CALIB = str(DIGITS / "digits_calib.npz")
INT8_WEIGHTS = 3720  # weights and biases of the int8 model (tests/precision/test_precision_options.py)


def auto(tmp_path: Path, **target: float) -> tinygen.model.CompiledModel:
    return tinygen.compile(DIGITS / "digits.onnx", tmp_path, calib=CALIB, precision="auto", **target)


def test_max_flash_fits_and_is_bit_exact(tmp_path: Path) -> None:
    ceiling = INT8_WEIGHTS * 3 // 4  # 25 % below the int8 weights
    model = auto(tmp_path / "flash", max_flash=ceiling)
    record = model.manifest["calibration"]["precision_auto"]
    assert model.manifest["weights_bytes"] == record["weights_bytes"] <= ceiling
    assert record["int8_weights_bytes"] == INT8_WEIGHTS
    chosen = [c for c in record["candidates"] if c["chosen"]]
    assert chosen and len(chosen) < 6  # not every layer: only as many as the ceiling needs
    # dropping the last chosen layer would not fit: the greedy stops as soon as the weights fit
    assert record["weights_bytes"] + chosen[-1]["bytes_saved"] > ceiling
    x = np.load(DIGITS / "digits_test.npz")["x"][:8]
    assert_identical(model.golden(x), model.run(x, sanitize=True), "auto golden vs host C")
    layers = build_report(model.out_dir, accuracy=False)["precision"]["layers"]
    assert {row["name"] for row in layers} == {c["name"] for c in chosen}
    assert all("saves" in row["why"] for row in layers)


def test_min_sqnr_holds_on_the_calibration_samples(tmp_path: Path) -> None:
    model = auto(tmp_path / "sqnr", min_sqnr=25.0)
    record = model.manifest["calibration"]["precision_auto"]
    assert record["sqnr_db"] >= 25.0 and record["int8_sqnr_db"] > record["sqnr_db"]
    assert record["weights_bytes"] < INT8_WEIGHTS
    refused = [c for c in record["candidates"] if not c["chosen"]]
    # int4 candidates left out cost too much SQNR; int16 ones are not needed (int8 meets the floor)
    assert any(c["kind"] == "shrink" for c in refused)
    assert all("would fall to" in c["note"] for c in refused if c["kind"] == "shrink")
    assert all(c["note"] == "not needed: the output SQNR already holds" for c in refused if c["kind"] == "raise")


def test_targets_that_cannot_be_met(tmp_path: Path) -> None:
    with pytest.raises(TinygenError, match="cannot meet weights <= 100 B"):
        auto(tmp_path / "a", max_flash=100)
    with pytest.raises(TinygenError, match="cannot meet output SQNR >= 60 dB") as failure:
        auto(tmp_path / "d", min_sqnr=60.0)  # int8 itself gives about 34 dB here
    assert "Even with int16 activations" in str(failure.value.hint)  # the digits CNN's layers take int16
    with pytest.raises(TinygenError, match="needs a target"):
        auto(tmp_path / "b")
    with pytest.raises(TinygenError, match="targets of --precision auto"):
        tinygen.compile(DIGITS / "digits.onnx", tmp_path / "c", calib=CALIB, min_sqnr=20.0)


def test_layers_the_precision_file_names_stay_as_it_says(tmp_path: Path) -> None:
    """With --precision auto, the file's layers are not candidates: the classifier stays int8 (all int4 but
    the classifier would be 2,408 B) and the first convolution is int4 because the file says so."""
    fixed = {"/classifier/Gemm": {"weights": "int8"}, "/features/features.0/Conv": {"weights": "int4"}}
    model = tinygen.compile(DIGITS / "digits.onnx", tmp_path, calib=CALIB, precision="auto", precision_file=fixed,
                            max_flash=2700)
    record = model.manifest["calibration"]["precision_auto"]
    assert {c["name"] for c in record["candidates"]}.isdisjoint(fixed)
    layers = {row["name"]: row["precision"] for row in build_report(model.out_dir, accuracy=False)["layers"]}
    assert layers["/classifier/Gemm"] is None and layers["/features/features.0/Conv"]["weights"] == "int4"
    assert record["weights_bytes"] <= 2700


def test_a_floor_above_int8_raises_layers_to_int16(tmp_path: Path) -> None:
    """A floor the int8 model misses: the most sensitive layers get int16 activations until it holds, the
    report names them, and golden == host C on the mixed int8/int16 graph."""
    int8_db = auto(tmp_path / "probe", max_flash=INT8_WEIGHTS).manifest["calibration"]["precision_auto"]["int8_sqnr_db"]
    model = auto(tmp_path / "raise", min_sqnr=int8_db + 1.5)
    record = model.manifest["calibration"]["precision_auto"]
    assert record["sqnr_db"] >= int8_db + 1.5, record["result"]
    raised = [c["name"] for c in record["candidates"] if c["chosen"] and c["kind"] == "raise"]
    assert raised, record["candidates"]
    layers = {row["name"]: row for row in build_report(model.out_dir, accuracy=False)["precision"]["layers"]}
    assert set(raised) <= set(layers) and all("raises" in layers[name]["why"] for name in raised)
    x = np.load(DIGITS / "digits_test.npz")["x"][:8]
    assert_identical(model.golden(x), model.run(x, sanitize=True), "auto int16 golden vs host C")
