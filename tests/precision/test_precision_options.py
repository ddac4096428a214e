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
