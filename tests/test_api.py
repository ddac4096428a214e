"""The Python API (issue 17, item 8): `calib=` takes arrays as well as paths, `tinygen.compile` takes an
`onnx.ModelProto` (and an error never prints the model), and `tinygen.verify`, `tinygen.report` and
`tinygen.evaluate` return result objects with docstrings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen
import tinygen.api
from tinygen.errors import DataError, TinygenError

from .conftest import model_file

KWS_FLOAT = model_file("kws_dscnn", "float")
CALIB = KWS_FLOAT.parent / "calib.npz"


def _calib_array() -> np.ndarray:
    with np.load(CALIB) as data:
        return np.asarray(data[data.files[0]])


@pytest.fixture(scope="module")
def kws_from_file(tmp_path_factory: pytest.TempPathFactory) -> tinygen.model.CompiledModel:
    return tinygen.compile(KWS_FLOAT, tmp_path_factory.mktemp("api") / "file", calib=str(CALIB), name="kws")


def _same_model(a: tinygen.model.CompiledModel, b: tinygen.model.CompiledModel) -> None:
    """Same C and weights (the calibration gave the same ranges), up to the source file's name in comments."""
    for name in ("kws.c", "kws_weights.c", "kws.h"):
        texts = [(m.out_dir / "lib" / "kws" / name).read_text().replace(m.manifest["model_file"], "MODEL")
                 for m in (a, b)]
        assert texts[0] == texts[1], name


@pytest.mark.parametrize("form", ["array", "dict by input name", "dict with x"])
def test_calib_accepts_arrays(kws_from_file, tmp_path: Path, form: str) -> None:
    x = _calib_array()
    name = kws_from_file.inputs[0]["name"]
    calib = {"array": x, "dict by input name": {name: x}, "dict with x": {"x": x}}[form]
    model = tinygen.compile(KWS_FLOAT, tmp_path / "out", calib=calib, name="kws")
    _same_model(kws_from_file, model)
    assert model.manifest["calibration"]["source"] == "arrays given in Python"
    assert model.manifest["calibration"]["samples"] == x.shape[0]


def test_calib_array_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"calib: no array for model input\(s\) \['input_1'\]; the dict has keys"):
        tinygen.compile(KWS_FLOAT, tmp_path / "a", calib={"a": np.zeros(1), "b": np.zeros(1)})
    with pytest.raises(DataError, match=r"arrays given in Python: input 'input_1' has shape \[3, 7\]"):
        tinygen.compile(KWS_FLOAT, tmp_path / "b", calib=np.zeros((3, 7), np.float32))
    with pytest.raises(DataError, match=r"calib: expected a \.npy/\.npz path, 'random', a numpy array or a dict of "
                                        r"arrays; got list"):
        tinygen.compile(KWS_FLOAT, tmp_path / "c", calib=[1, 2, 3])  # type: ignore[arg-type]


def test_compile_accepts_a_model_proto(kws_from_file, tmp_path: Path) -> None:
    proto = onnx.load(KWS_FLOAT)
    model = tinygen.compile(proto, tmp_path / "proto", calib=str(CALIB), name="kws")
    _same_model(kws_from_file, model)
    assert model.manifest["model_file"] == "kws.onnx"  # named after --name, not a temporary path
    assert tinygen.verify(model.out_dir).identical


def test_a_bad_model_proto_or_object_gives_a_short_error(tmp_path: Path) -> None:
    proto = onnx.load(KWS_FLOAT)
    del proto.graph.output[:]  # no outputs: refused by the loader
    with pytest.raises(TinygenError) as error:
        tinygen.compile(proto, tmp_path / "bad", calib=str(CALIB))
    assert len(str(error.value)) < 1000 and "raw_data" not in str(error.value)
    with pytest.raises(DataError, match=r"a path to an \.onnx/\.tflite file or an onnx\.ModelProto; got bytes"):
        tinygen.compile(proto.SerializeToString(), tmp_path / "bytes")  # type: ignore[arg-type]


def test_verify_returns_a_report(kws_from_file) -> None:
    import tinygen.reporting
    import tinygen.verification  # the modules behind the functions: importing them hides neither


    result = tinygen.verify(kws_from_file.out_dir)
    assert isinstance(result, tinygen.VerifyReport)
    assert result.identical and result.mismatch is None and result.samples == 16
    assert result.top1 is not None and result.top1[1] == 16 and result.sqnr_db and result.sqnr_db[0] > 20
    assert any("identical (bit-exact)" in line for line in result.lines)
    x = _calib_array()[:5]  # arrays instead of a file, with labels in a dict
    labelled = tinygen.verify(kws_from_file.out_dir, {"x": x, "y": np.zeros(5, np.int64)})
    assert labelled.identical and labelled.samples == 5 and labelled.accuracy is not None
    assert tinygen.api.verify.__doc__ and "VerifyReport" in tinygen.api.verify.__doc__


def test_report_returns_figures_text_and_html(kws_from_file, tmp_path: Path) -> None:
    report = tinygen.report(kws_from_file.out_dir, board="nucleo_f446re")
    assert isinstance(report, tinygen.Report) and report.fits is True
    assert report.figures["macs"] == kws_from_file.manifest["macs"]
    assert len(report.figures["layers"]) == kws_from_file.manifest["layers"]
    assert report.lines()[0].startswith("kws (kws_dscnn_float.onnx)")
    assert all(len(line) <= 100 for line in report.lines(100))
    assert "<table id=\"layers\">" in report.html()
    json.dumps(report.to_json())  # serializable, without the SVG
    assert "arena_svg" not in report.to_json()
    small = tinygen.report(kws_from_file.out_dir, ram_kib=4, flash_kib=16, sqnr=False)
    assert small.fits is False and small.figures["accuracy"] is None
    on_arrays = tinygen.report(kws_from_file.out_dir, inputs=_calib_array()[:3])
    accuracy = on_arrays.figures["accuracy"]
    assert accuracy["samples"] == 3 and accuracy["inputs"] == "the arrays given"


def test_evaluate_returns_an_evaluation(kws_from_file, tmp_path: Path) -> None:
    data = tmp_path / "test.npz"
    np.savez(data, x=_calib_array()[:8], y=np.arange(8) % 12)
    result = tinygen.evaluate(kws_from_file.out_dir, data)
    assert isinstance(result, tinygen.Evaluation)
    assert result.samples == 8 and result.kind == "classifier" and result.int8_accuracy is not None
    assert result.lines()[0].startswith("evaluate")
    for function in (tinygen.api.compile, tinygen.api.verify, tinygen.api.report, tinygen.evaluate):
        assert function.__doc__ and len(function.__doc__) > 100, function.__name__
