"""The guided command line: every command's --help shows an example, `tinygen ops` lists layouts
and data types from the registries, and progress bars appear only on a terminal."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tinygen
from tinygen import progress
from tinygen.cli import COMMANDS, cli

from .conftest import MODELS


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [*([name] if name else []), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`tinygen {name} --help` has no example"
    assert "tinygen " in result.output.split("Example", 1)[1]


def test_ops_lists_layouts_and_data_types() -> None:
    result = CliRunner().invoke(cli, ["ops", "--json"])
    listing = json.loads(result.output)
    rows = {row["op"]: row for row in listing["onnx"] if row["domain"] == "ai.onnx"}
    assert "channels-last" in rows["Conv"]["layout"] and "NCHW" in rows["Conv"]["layout"]
    assert "keeps its input's layout" in rows["Relu"]["layout"]
    assert "float32" in listing["dtypes"] and "int8" in listing["dtypes"]
    kernels = {op["op"]: op for op in listing["ir"]}
    assert "int8 weights per output channel, int32 bias" in kernels["conv2d"]["dtypes"]
    assert "alias" in kernels["reshape"]["dtypes"]
    text = CliRunner().invoke(cli, ["ops"]).output
    assert "layout: " in text and "Data types:" in text


class Recorder:
    """A progress reporter that records (label, total, steps advanced)."""

    def __init__(self) -> None:
        self.tasks: list[list] = []

    @contextlib.contextmanager
    def __call__(self, label: str, total: int) -> Iterator:
        task = [label, total, 0]
        self.tasks.append(task)

        def advance(steps: int = 1) -> None:
            task[2] += steps

        yield advance


def test_calibration_and_batch_runs_report_progress(tmp_path: Path) -> None:
    recorder = Recorder()
    with progress.reporting(recorder):
        model = tinygen.compile(MODELS / "ad_autoencoder" / "ad_autoencoder_float.onnx", tmp_path / "ad",
                                calib=str(MODELS / "ad_autoencoder" / "calib.npz"))
        calibration = [task for task in recorder.tasks if task[0] == "running the float model"]
        assert len(calibration) == 1 and calibration[0][1] == calibration[0][2] > 0
        x = np.random.default_rng(0).standard_normal((300, 640)).astype(np.float32)
        y = model.run(x)
        assert [task for task in recorder.tasks if "host simulator" in task[0]] == [
            ["running on the host simulator", 300, 300]]
        golden = model.golden(x[:40])
        assert ["running the golden reference", 40, 40] in recorder.tasks
    np.testing.assert_array_equal(y[:40], golden)  # chunked runs give the same outputs
    np.testing.assert_array_equal(y, model.run(x))  # and the same as unchunked ones (no reporter here)


def test_no_progress_bars_unless_stderr_is_a_terminal(tmp_path: Path) -> None:
    assert progress.terminal_reporter(quiet=True) is None
    # under pytest stderr is captured, not a terminal
    assert progress.terminal_reporter(quiet=False) is None
    result = CliRunner().invoke(cli, ["compile", str(MODELS / "kws_dscnn" / "kws_dscnn_float.onnx"), "-o",
                                      str(tmp_path / "kws"), "--calib", str(MODELS / "kws_dscnn" / "calib.npz")])
    assert result.exit_code == 0, result.output
    assert "running the float model" not in result.output


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    reporter = progress.terminal_reporter(quiet=False)
    assert reporter is progress.click_bar
    assert progress.terminal_reporter(quiet=True) is None


def test_verbose_compile_shows_the_passes_with_timings(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-v", "compile", str(MODELS / "kws_dscnn" / "kws_dscnn_int8_qdq.onnx"),
                                      "-o", str(tmp_path / "kws")])
    assert result.exit_code == 0
    assert "pass fuse_activation:" in result.output and " ms" in result.output
