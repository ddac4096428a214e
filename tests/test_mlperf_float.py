"""Acceptance: the five float MLPerf Tiny models compile with their calibration data, the
generated C equals the golden reference on every sample (host simulator, compared exactly),
and the int8 model stays close to the float model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.verification import verify_model

from .conftest import MODELS, assert_identical, calibration_file, samples

FLOAT_MODELS = [
    ("kws_dscnn", "kws_dscnn_float"),
    ("kws_dscnn", "kws_dscnn_float_matched"),
    ("vww_mobilenet", "vww_mobilenet_float"),
    ("ic_resnet8", "ic_resnet8_float"),
    ("ad_autoencoder", "ad_autoencoder_float"),
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tinygen.model.CompiledModel]:
    out = tmp_path_factory.mktemp("mlperf_float")
    return {stem: tinygen.compile(MODELS / folder / f"{stem}.onnx", out / stem, calib=str(calibration_file(folder)))
            for folder, stem in FLOAT_MODELS}


@pytest.mark.parametrize("folder,stem", FLOAT_MODELS)
def test_golden_equals_host_c_on_samples(compiled: dict, folder: str, stem: str, tmp_path: Path) -> None:
    model = compiled[stem]
    x = samples(folder)["x"]
    golden = model.golden(x)
    host = model.run(x)
    assert_identical(golden, host, f"{stem} golden vs host C")
    np.save(tmp_path / "x.npy", x)
    report = verify_model(model.out_dir, tmp_path / "x.npy")
    assert report.identical, report.mismatch
    print(f"{stem}: " + "; ".join(report.lines))


@pytest.mark.parametrize("stem", ["kws_dscnn_float", "kws_dscnn_float_matched"])
def test_kws_top1_agreement_with_float_model(compiled: dict, stem: str) -> None:
    report = verify_model(compiled[stem].out_dir, None)
    x = samples("kws_dscnn")["x"]
    model = compiled[stem]
    y_int8 = model.run(x)
    y_float = samples("kws_dscnn")["y_float" if stem == "kws_dscnn_float" else "y_float_matched"]
    agree = int(np.sum(np.argmax(y_int8, axis=1) == np.argmax(y_float, axis=1)))
    print(f"{stem}: top-1 agreement {agree}/16; {report.lines}")
    assert agree >= 15


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_generated_c_is_strict_c99(compiled: dict, compiler: str, tmp_path: Path) -> None:
    """The generated C compiles warning-free as strict C99 with both compilers."""
    for stem, model in compiled.items():
        lib = model.out_dir / "lib"
        sources = sorted((lib / model.name).glob("*.c")) + sorted((lib / "tinygen_kernels" / "src").glob("*.c"))
        command = [compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c",
                   f"-I{lib / model.name}", f"-I{lib / 'tinygen_kernels' / 'include'}"]
        for source in sources:
            result = subprocess.run([*command, str(source), "-o", str(tmp_path / (source.stem + ".o"))],
                                    capture_output=True, text=True)
            assert result.returncode == 0, f"{stem}: {compiler} rejects {source.name}:\n{result.stderr}"
