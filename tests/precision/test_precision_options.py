"""The per-layer precision record and its options (tinygen/quantize/precision.py): the precision file's
names and patterns, bad values, and the errors naming the layers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinygen.errors import TinygenError
from tinygen.quantize.precision import LayerPrecision, PrecisionPlan

DIGITS = Path(__file__).parents[1] / "fixtures" / "digits"


def compile_digits(tinygen_cli, tmp_path: Path, *options: object):
    return tinygen_cli("compile", DIGITS / "digits.onnx", "-o", tmp_path / "out", "--calib",
                       DIGITS / "digits_calib.npz", *options)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "layers.json"
    path.write_text(json.dumps(data))
    return path


def test_values_are_checked() -> None:
    with pytest.raises(TinygenError, match="unknown weights precision 'int2'"):
        LayerPrecision("int8", "int2")
    with pytest.raises(TinygenError, match="unknown key 'bits'"):
        PrecisionPlan.from_options(precision={"conv": {"bits": 4}})
    with pytest.raises(TinygenError, match="weights 'int5' is not one of int8, int4"):
        PrecisionPlan.from_options(precision={"conv": {"weights": "int5"}})
    with pytest.raises(TinygenError, match="expected an object"):
        PrecisionPlan.from_options(precision={"conv": "int4"})


def test_unknown_layer_lists_the_layer_names(tinygen_cli, tmp_path: Path) -> None:
    result = compile_digits(tinygen_cli, tmp_path, "--precision-file", write(tmp_path, {"conv9": {"weights": "int4"}}))
    assert result.code == 2
    assert "layer 'conv9' matches no layer" in result.err and "'/classifier/Gemm'" in result.err


def test_a_named_layer_without_weights_cannot_take_int4(tinygen_cli, tmp_path: Path) -> None:
    file = write(tmp_path, {"/features/features.9/MaxPool": {"weights": "int4"}})
    result = compile_digits(tinygen_cli, tmp_path, "--precision-file", file)
    assert result.code == 2 and "'/features/features.9/MaxPool' (max_pool) cannot take int4 weights" in result.err
    assert "It has no weights" in result.err


def test_bad_json_and_missing_file(tinygen_cli, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    result = compile_digits(tinygen_cli, tmp_path, "--precision-file", tmp_path / "bad.json")
    assert result.code == 2 and "not valid JSON" in result.err
    result = compile_digits(tinygen_cli, tmp_path, "--precision-file", tmp_path / "none.json")
    assert result.code == 2 and "cannot read the precision file" in result.err


def test_int4_weights_model_is_bit_exact_and_smaller(tmp_path: Path) -> None:
    """--weights int4 on the digits CNN (3 convolutions, 2 depthwise, 1 fully connected): every layer with
    weights runs a 4-bit kernel, golden == host C (sanitized), the weights shrink, and a precision file
    with a pattern turns only the layers it matches."""
    import numpy as np

    import tinygen
    from tinygen.reporting import build_report

    from ..conftest import assert_identical

    x = np.load(DIGITS / "digits_test.npz")["x"][:16]
    calib = str(DIGITS / "digits_calib.npz")
    int8 = tinygen.compile(DIGITS / "digits.onnx", tmp_path / "int8", calib=calib)
    int4 = tinygen.compile(DIGITS / "digits.onnx", tmp_path / "int4", calib=calib, weights="int4")
    functions = int4.manifest["kernel_functions"]
    assert {"tg_conv_s4", "tg_depthwise_conv_s4", "tg_fully_connected_s4"} <= set(functions)
    assert not {"tg_conv_1x1_s8", "tg_conv_im2col_s8", "tg_fully_connected_s8"} & set(functions)
    assert_identical(int4.golden(x), int4.run(x, sanitize=True), "int4 golden vs host C")
    # 3,258 parameters: 154 biases (int32, 16 + 16 + 32 + 32 + 48 + 10 channels) and 3,104 weights, halved
    assert int8.manifest["weights_bytes"] - int4.manifest["weights_bytes"] == 3104 // 2
    summary = build_report(int4.out_dir, accuracy=False)["precision"]
    assert len(summary["layers"]) == 6 and summary["weights_bytes_int8"] == int8.manifest["weights_bytes"]

    mixed = tinygen.compile(DIGITS / "digits.onnx", tmp_path / "mixed", calib=calib,
                            precision={"*features.1*": {"weights": "int4"}})
    chosen = {row["name"] for row in build_report(mixed.out_dir, accuracy=False)["precision"]["layers"]}
    assert chosen == {"/features/features.10/Conv", "/features/features.13/Conv"}  # not the pool .16
    assert_identical(mixed.golden(x), mixed.run(x, sanitize=True), "mixed golden vs host C")


def test_auto_from_the_command_line(tinygen_cli, tmp_path: Path) -> None:
    """--precision auto with --max-flash: the summary line names the int4 layers and the totals; --min-sqnr
    without --precision auto is refused."""
    result = compile_digits(tinygen_cli, tmp_path, "--precision", "auto", "--max-flash", "3000")
    assert result.code == 0, result.err
    assert "precision     " in result.out and "int4 weights" in result.out and "against 3,720 B all int8" in result.out
    report = tinygen_cli("report", tmp_path / "out", "--no-sqnr")
    assert report.code == 0 and "auto: weights <= 3,000 B" in report.out
    refused = compile_digits(tinygen_cli, tmp_path, "--min-sqnr", "20")
    assert refused.code == 2 and "targets of --precision auto" in refused.err
