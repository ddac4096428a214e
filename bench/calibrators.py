"""Calibrators and corrections compared (issue 15).

MLPerf: each float MLPerf Tiny model compiled with each calibrator on its calibration data (calib.npz,
or samples.npz where it has none; all samples, none held out), and the int8 output's SQNR against
onnxruntime running the float model on samples.npz.

Digits: the trained fixture (tests/fixtures/digits, tests/fixtures/make_digits.py) compiled with each
calibrator, with bias correction and cross-layer equalization off and on, on its training-split
calibration data; float and int8 accuracy on its labelled test split. The int8 outputs come from the
golden reference (bit-exact with the generated C, which `tinygen verify` checks).

    .venv/bin/python bench/calibrators.py [--only mlperf|digits]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen  # noqa: E402
from tinygen.verification import onnxruntime_outputs, sqnr_db  # noqa: E402

MODELS = REPO / "models" / "mlperf_tiny"
MLPERF = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]
METHODS = ["minmax", "percentile:99.99", "percentile:99.9", "mse", "entropy"]
DIGITS = REPO / "tests" / "fixtures" / "digits"
CORRECTIONS = [("none", False, False), ("bias", True, False), ("equalize", False, True), ("both", True, True)]


def mlperf(work: Path) -> None:
    print("int8 output SQNR (dB) vs onnxruntime float on samples.npz")
    print(f"{'model':<16}" + "".join(f"{m:>18}" for m in METHODS))
    for name in MLPERF:
        calib = MODELS / name / "calib.npz"
        calib = calib if calib.exists() else MODELS / name / "samples.npz"
        with np.load(MODELS / name / "samples.npz") as samples:
            x = samples["x"]
        row = []
        for method in METHODS:
            model = tinygen.compile(MODELS / name / f"{name}_float.onnx", work / f"{name}_{method.replace(':', '_')}",
                                    calib=str(calib), calib_method=method, holdout=0, force=True)
            reference = onnxruntime_outputs(model, {model.inputs[0]["name"]: x})[0]
            ours = np.asarray(model.golden(x)).reshape(reference.shape)
            row.append(sqnr_db(reference, ours))
        print(f"{name:<16}" + "".join(f"{v:>18.1f}" for v in row), flush=True)


def digits(work: Path) -> None:
    with np.load(DIGITS / "digits_test.npz") as test:
        x, y = test["x"], test["y"]
    print(f"digits fixture: accuracy (%) on its test split ({len(y)} samples); int8 with each calibrator and "
          "correction")
    print(f"{'calibrator':<18}{'float':>8}" + "".join(f"{label:>11}" for label, _, _ in CORRECTIONS))
    for method in METHODS:
        row, float_accuracy = [], 0.0
        for label, bias, equalize in CORRECTIONS:
            model = tinygen.compile(DIGITS / "digits.onnx", work / f"digits_{method.replace(':', '_')}_{label}",
                                    calib=str(DIGITS / "digits_calib.npz"), calib_method=method,
                                    bias_correction=bias, equalization=equalize, force=True,
                                    warn=lambda message: print(message, file=sys.stderr))
            reference = onnxruntime_outputs(model, {model.inputs[0]["name"]: x})[0]
            float_accuracy = float(np.mean(np.argmax(reference, axis=1) == y))
            ours = np.asarray(model.golden(x))
            row.append(float(np.mean(np.argmax(ours, axis=1) == y)))
        print(f"{method:<18}{100 * float_accuracy:>8.2f}" + "".join(f"{100 * v:>11.2f}" for v in row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["mlperf", "digits"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tinygen-calibrators-") as tmp:
        if args.only != "mlperf":
            digits(Path(tmp))
        if args.only != "digits":
            mlperf(Path(tmp))


if __name__ == "__main__":
    main()
