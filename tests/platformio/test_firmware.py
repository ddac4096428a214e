"""Acceptance of issue 4: the MLPerf Tiny models (QDQ form) and the float KWS model build and
pass their unit tests through PlatformIO on the host and on the four emulated Cortex-M cores,
the harness prints PASS with instruction counts, and batch inference through the emulated
Cortex-M4 gives the same bytes as the host simulator, the golden reference and TFLite."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tinygen.platformio.envs import LOCAL_ENVS, QEMU_ENVS
from tinygen.platformio.qemu import parse_harness

from ..conftest import assert_identical, samples
from .conftest import ACCEPTANCE, FLOAT_SWEEP, compile_case

CASES = {case[0]: case for case in ACCEPTANCE + FLOAT_SWEEP}
ACCEPTANCE_IDS = [case[0] for case in ACCEPTANCE]
# Building and unit-testing a model for the host and the four emulated cores takes ~20 s a model: `make test`
# does it for the two smallest QDQ models (KWS: conv, depthwise, pooling, FC, softmax; AD: wide FC layers), and
# the batch tests below still run every model on qemu_m4; `make bench` builds them all.
FULL_BUILD_IN_MAKE_TEST = {"kws_dscnn_qdq", "ad_autoencoder_qdq"}
FULL_BUILD_CASES = [pytest.param(case_id, id=case_id,
                                 marks=() if case_id in FULL_BUILD_IN_MAKE_TEST else pytest.mark.slow)
                    for case_id in ACCEPTANCE_IDS]
SWEEP_IDS = [case[0] for case in FLOAT_SWEEP]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory, mlperf_compiled):
    """Each model compiled once for the module, on first use; the QDQ ones are the session's (conftest.py)."""
    out = tmp_path_factory.mktemp("firmware")
    cache: dict = {}

    def get(case_id: str):
        if case_id not in cache:
            _, folder, stem, calibrate = CASES[case_id]
            cache[case_id] = compile_case(out, folder, stem, calibrate) if calibrate else mlperf_compiled(folder)
        return cache[case_id]
    return get


def int8_inputs(model, case_id: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(int8 inputs in the model's layout, TFLite's int8 outputs for them if known)."""
    _, folder, _, calibrate = CASES[case_id]
    data = samples(folder)
    if calibrate:  # a float model: its own quantization of the float samples
        return model.quantize(model.inputs[0], data["x"]), None
    return data["x_int8"], data["y_int8"]


def build_and_test(tinygen_cli, out: Path) -> None:
    built = tinygen_cli("build", out)
    assert built.code == 0, built.out + built.err
    for env in LOCAL_ENVS:
        assert re.search(rf"^\s+{env}\s+flash\s", built.out, re.MULTILINE), built.out
        assert re.search(rf"^\s+{env}\s+RAM\s", built.out, re.MULTILINE), built.out
    tested = tinygen_cli("test", out)
    assert tested.code == 0, tested.out + tested.err
    for env in LOCAL_ENVS:
        assert re.search(rf"^\s+{env}\s+test_\S+\s+PASSED", tested.out, re.MULTILINE), tested.out


def run_on_target(tinygen_cli, model, x: np.ndarray, target: str, tmp_path: Path) -> np.ndarray:
    np.save(tmp_path / "x.npy", x)
    result = tinygen_cli("run", model.out_dir, "--target", target, "--int8", "--input", tmp_path / "x.npy",
                         "--output", tmp_path / f"y_{target}.npy")
    assert result.code == 0, result.out + result.err
    return np.load(tmp_path / f"y_{target}.npy")


@pytest.mark.parametrize("case_id", FULL_BUILD_CASES)
def test_build_and_unit_tests_on_host_and_emulated_cores(compiled, tinygen_cli, case_id: str) -> None:
    build_and_test(tinygen_cli, compiled(case_id).out_dir)


@pytest.mark.parametrize("case_id", ACCEPTANCE_IDS)
def test_batch_on_qemu_m4_equals_host_golden_and_tflite(compiled, tinygen_cli, case_id: str, tmp_path: Path) -> None:
    model = compiled(case_id)
    x, y_tflite = int8_inputs(model, case_id)
    on_m4 = run_on_target(tinygen_cli, model, x, "qemu_m4", tmp_path)
    assert on_m4.dtype == np.int8
    assert_identical(model.golden(x, int8=True), on_m4, f"{case_id} golden vs qemu_m4")
    assert_identical(model.run(x, int8=True), on_m4, f"{case_id} host simulator vs qemu_m4")
    if y_tflite is not None:  # samples.npz: x_int8 -> y_int8
        assert_identical(y_tflite, on_m4, f"{case_id} TFLite y_int8 vs qemu_m4")


def test_flash_on_qemu_m4_runs_the_harness(compiled, tinygen_cli) -> None:
    model = compiled("kws_dscnn_float")
    result = tinygen_cli("flash", model.out_dir, "-e", "qemu_m4")
    assert result.code == 0, result.out + result.err
    assert re.search(r"^PASS$", result.out, re.MULTILINE)
    harness = parse_harness(result.out)
    assert harness.passed and harness.counter == "instructions" and harness.samples == 4
    assert harness.per_inference and harness.per_inference > model.manifest["macs"]
    assert sorted(harness.layers) == list(range(model.manifest["layers"]))
    assert sum(harness.layers.values()) <= harness.per_inference
    assert "instructions per inference" in result.out
    assert re.search(r"^\s+qemu_m4\s+flash\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+$", result.out, re.MULTILINE)


def test_float_run_on_qemu_m4_equals_host(compiled, tinygen_cli, tmp_path: Path) -> None:
    """The float contract of `tinygen run` holds on the target too."""
    model = compiled("kws_dscnn_float")
    x = samples("kws_dscnn")["x"]
    np.save(tmp_path / "x.npy", x)
    result = tinygen_cli("run", model.out_dir, "--target", "qemu_m4", "--input", tmp_path / "x.npy",
                         "--output", tmp_path / "y.npy")
    assert result.code == 0, result.err
    assert np.array_equal(np.load(tmp_path / "y.npy"), model.run(x))


@pytest.mark.slow
@pytest.mark.parametrize("target", [env for env in QEMU_ENVS if env != "qemu_m4"])
@pytest.mark.parametrize("case_id", ACCEPTANCE_IDS)
def test_batch_on_every_emulated_core_equals_golden(compiled, tinygen_cli, case_id: str, target: str,
                                                    tmp_path: Path) -> None:
    model = compiled(case_id)
    x, _ = int8_inputs(model, case_id)
    assert_identical(model.golden(x, int8=True), run_on_target(tinygen_cli, model, x, target, tmp_path),
                     f"{case_id} golden vs {target}")


@pytest.mark.slow
@pytest.mark.parametrize("case_id", SWEEP_IDS)
def test_float_models_build_and_pass_unit_tests(compiled, tinygen_cli, case_id: str) -> None:
    build_and_test(tinygen_cli, compiled(case_id).out_dir)


def test_flash_reports_a_wrong_output_and_fails(compiled, tinygen_cli, tmp_path: Path) -> None:
    """A golden byte changed in the embedded vectors: the harness prints the mismatch and FAIL,
    QEMU exits with the firmware's status, `tinygen flash` exits 1."""
    import shutil

    model = compiled("kws_dscnn_float")
    broken = tmp_path / "broken"
    shutil.copytree(model.out_dir, broken, ignore=shutil.ignore_patterns(".pio"))
    vectors = broken / "src" / f"{model.name}_vectors.c"
    text = vectors.read_text()
    start = text.index(f"{model.name}_test_output")
    first = re.compile(r"(-?\d+)(,)").search(text, text.index("{", text.index("{", start) + 1))
    assert first is not None
    wrong = str(int(first.group(1)) ^ 1)
    vectors.write_text(text[:first.start(1)] + wrong + text[first.end(1):])
    result = tinygen_cli("flash", broken, "-e", "qemu_m4")
    assert result.code == 1, result.out + result.err
    assert "TG_MISMATCH sample=0 output=output index=0" in result.out
    assert re.search(r"^FAIL$", result.out, re.MULTILINE)
