"""Calibration that cannot silently be wrong, and `tinygen evaluate`, on the trained digits fixture
(tests/fixtures/make_digits.py: a small depthwise-separable CNN trained on scikit-learn's digits)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import tinygen
from tinygen.verification import verify_model

DIGITS = Path(__file__).resolve().parent.parent / "fixtures" / "digits"


def test_data() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DIGITS / "digits_test.npz") as data:
        return data["x"], data["y"]


test_data.__test__ = False  # type: ignore[attr-defined]


def calibration() -> np.ndarray:
    with np.load(DIGITS / "digits_calib.npz") as data:
        return data["x"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tinygen.model.CompiledModel:
    return tinygen.compile(DIGITS / "digits.onnx", tmp_path_factory.mktemp("digits") / "out",
                           calib=str(DIGITS / "digits_calib.npz"))


@pytest.fixture(scope="module")
def wrong_scale(tmp_path_factory: pytest.TempPathFactory) -> tuple[tinygen.model.CompiledModel, list[str]]:
    """Calibrated on the training split multiplied by 255 (raw pixel scale for a normalized network)."""
    folder = tmp_path_factory.mktemp("digits255")
    np.save(folder / "calib255.npy", calibration() * 255)
    warnings: list[str] = []
    model = tinygen.compile(DIGITS / "digits.onnx", folder / "out", calib=str(folder / "calib255.npy"),
                            warn=warnings.append)
    return model, warnings


def test_evaluate_reproduces_independent_accuracy(compiled: tinygen.model.CompiledModel) -> None:
    x, y = test_data()
    session = ort.InferenceSession(str(DIGITS / "digits.onnx"), providers=["CPUExecutionProvider"])
    float_accuracy = float(np.mean(np.argmax(session.run(None, {"image": x})[0], axis=1) == y))
    int8_accuracy = float(np.mean(np.argmax(compiled.golden(x), axis=1) == y))  # golden == host C, bit for bit
    result = tinygen.evaluate(compiled.out_dir, DIGITS / "digits_test.npz")
    print("\n".join(result.lines()))
    assert result.kind == "classifier" and result.samples == len(y)
    assert result.float_accuracy == float_accuracy
    assert result.int8_accuracy == int8_accuracy
    matrix = np.array(result.metrics["confusion_int8"])
    assert matrix.sum() == len(y) and int(np.trace(matrix)) == round(int8_accuracy * len(y))
    float_top1 = np.argmax(session.run(None, {"image": x})[0], axis=1)
    changed = np.flatnonzero(float_top1 != np.argmax(compiled.golden(x), axis=1))
    assert [c["index"] for c in result.metrics["changed"]] == changed.tolist()
    # the acceptance figure: int8 within 0.5 point of float with the default settings
    assert float_accuracy - int8_accuracy <= 0.005, (float_accuracy, int8_accuracy)


def test_evaluate_folder_formats_agree(compiled: tinygen.model.CompiledModel, tmp_path: Path) -> None:
    x, y = test_data()
    x, y = x[:40], y[:40]
    np.savez(tmp_path / "part.npz", x=x, y=y)
    pair = tmp_path / "pair"
    pair.mkdir()
    np.save(pair / "x.npy", x)
    np.save(pair / "y.npy", y)
    samples = tmp_path / "samples"
    samples.mkdir()
    for i, sample in enumerate(x):
        np.save(samples / f"s{i:03d}.npy", sample)
    (samples / "labels.csv").write_text("".join(f"s{i:03d}.npy,{label}\n" for i, label in enumerate(y)))
    results = [tinygen.evaluate(compiled.out_dir, path) for path in (tmp_path / "part.npz", pair, samples)]
    figures = [(r.float_accuracy, r.int8_accuracy, r.metrics["confusion_int8"]) for r in results]
    assert figures[0] == figures[1] == figures[2]


def test_evaluate_cli_json_and_html(compiled: tinygen.model.CompiledModel, tinygen_cli, tmp_path: Path) -> None:
    result = tinygen_cli("evaluate", compiled.out_dir, "--data", DIGITS / "digits_test.npz", "--subset", "100",
                         "--json", tmp_path / "e.json", "--html", tmp_path / "e.html")
    assert result.code == 0, result.err
    assert "accuracy      float" in result.out and "tinygen report" in result.out
    figures = json.loads((tmp_path / "e.json").read_text())
    assert figures["samples"] == 100 and len(figures["metrics"]["confusion_int8"]) == 10
    page = (tmp_path / "e.html").read_text()
    assert 'id="confusion"' in page and page.count("rgba(") == 100


def test_manifest_records_the_calibration(compiled: tinygen.model.CompiledModel) -> None:
    record = compiled.manifest["calibration"]
    assert record["source"] == "digits_calib.npz" and record["method"] == "minmax"
    assert record["held_out"] == 16 and record["samples"] == len(calibration()) - 16
    assert record["verify_samples"] == "held-out" and record["warnings"] == []
    stats = record["inputs"]["image"]
    held = {k: v for k, v in zip(["min", "max"], [stats["min"], stats["max"]], strict=True)}
    assert held["min"] >= float(calibration().min()) and held["max"] <= float(calibration().max())
    lines = verify_model(compiled.out_dir).lines
    assert lines[-1] == "verdict: the int8 model agrees with the float model on samples held out from calibration"


def test_wrong_scale_warns_and_verify_does_not_claim_agreement(wrong_scale, tmp_path: Path) -> None:
    model, warnings = wrong_scale
    assert any("about 25" in w and "larger than the data the network was trained on" in w for w in warnings), warnings
    assert model.manifest["calibration"]["warnings"]
    # held-out samples of the same wrongly scaled file: flagged, never "agrees"
    default = verify_model(model.out_dir)
    assert default.identical and "agrees with" not in default.lines[-1] and "inconclusive" in default.lines[-1]
    # the real test split, with labels: accuracy printed, disagreement stated
    x, y = test_data()
    np.savez(tmp_path / "test.npz", x=x, y=y)
    report = verify_model(model.out_dir, tmp_path / "test.npz")
    print("\n".join(report.lines))
    assert report.identical and report.agrees is False
    assert report.accuracy is not None and report.accuracy[1] < 0.5 < report.accuracy[0]
    assert any(line.startswith("accuracy on the labels") for line in report.lines)
    assert "does NOT agree" in report.lines[-1]


def test_bad_calibration_files_warn(tinygen_cli, tmp_path: Path) -> None:
    x = calibration()
    cases = {"three.npy": (x[:3], "only 3 calibration sample(s)"),
             "ints.npy": (np.round(x * 3).astype(np.int16), "integer dtype int16"),
             "single.npy": (x[0], "no batch axis")}
    for name, (array, expected) in cases.items():
        np.save(tmp_path / name, array)
        result = tinygen_cli("compile", DIGITS / "digits.onnx", "-o", tmp_path / name.replace(".npy", ""),
                             "--calib", tmp_path / name)
        assert result.code == 0, result.err
        assert "WARNING: " in result.err and expected in result.err, (name, result.err)
        assert "WARNING(S) about the calibration data" in result.out
