"""Issue 17's list of command-line inconsistencies, one test each: global flags after the command,
`run` taking a samples file's `x` and writing what its suffix says, a closed pipe not reported as
a failed verification, and no stale text in the board-fit advice, the HTML report or the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinygen
from tinygen.reporting.html import LOW_SQNR_DB
from tinygen.reporting.targets import Footprint, fit_advice

from .conftest import REPO, model_file, samples


@pytest.fixture(scope="module")
def ad(mlperf_compiled) -> tinygen.model.CompiledModel:
    return mlperf_compiled("ad_autoencoder")


def test_global_flags_may_follow_the_command(ad, tinygen_cli, tmp_path: Path) -> None:
    x = tmp_path / "x.npy"
    np.save(x, samples("ad_autoencoder")["x"][:2])
    loud = tinygen_cli("run", ad.out_dir, "--input", x, "--output", tmp_path / "y.npy")
    quiet = tinygen_cli("run", ad.out_dir, "--input", x, "--output", tmp_path / "y.npy", "-q")
    assert loud.code == quiet.code == 0 and "ran 2 sample(s)" in loud.out and quiet.out == ""
    verbose = tinygen_cli("report", ad.out_dir, "--verbose")
    assert verbose.code == 0, verbose.err


def test_run_takes_the_x_of_a_samples_file_and_writes_csv(ad, tinygen_cli, tmp_path: Path) -> None:
    source = model_file("ad_autoencoder", "int8_qdq").parent / "samples.npz"
    result = tinygen_cli("run", ad.out_dir, "--input", source, "--output", tmp_path / "y.csv")
    assert result.code == 0, result.err
    lines = (tmp_path / "y.csv").read_text().splitlines()
    expected = ad.run(samples("ad_autoencoder")["x"])
    assert isinstance(expected, np.ndarray)
    name = ad.outputs[0]["name"]
    assert lines[0].split(",")[:2] == [f"{name}[0]", f"{name}[1]"] and len(lines) == 1 + expected.shape[0]
    table = np.loadtxt(tmp_path / "y.csv", delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(table, expected.reshape(expected.shape[0], -1), rtol=1e-6)


def test_run_refuses_an_output_format_it_cannot_write_before_running(ad, tinygen_cli, tmp_path: Path) -> None:
    result = tinygen_cli("run", ad.out_dir, "--input", model_file("ad_autoencoder", "int8_qdq").parent / "samples.npz",
                         "--output", tmp_path / "y.txt")
    assert result.code == 2 and "unknown output format '.txt'" in result.err and ".csv" in result.err
    assert not (tmp_path / "y.txt").exists()


def test_a_closed_pipe_is_not_a_failed_verification() -> None:
    pipeline = subprocess.run(f"'{sys.executable}' -m tinygen ops | head -1; exit ${{PIPESTATUS[0]}}", shell=True,
                              executable="/bin/bash", capture_output=True, text=True, cwd=REPO)
    assert pipeline.returncode == 141, pipeline.stderr  # 128 + SIGPIPE, like any Unix tool
    assert pipeline.stdout.count("\n") == 1 and "Traceback" not in pipeline.stderr


def test_board_fit_advice_knows_about_patches(ad) -> None:
    from tinygen.platformio.envs import env_named

    footprint = Footprint(env_named("nano33ble"), ram=10**7, flash=1000, measured=False)
    text = "\n".join(fit_advice(footprint, ad.manifest))
    assert "patch" in text and "no patch-based" not in text and "--ram-budget" in text


def test_html_caption_states_the_highlight_thresholds(ad, tinygen_cli, tmp_path: Path) -> None:
    assert tinygen_cli("report", ad.out_dir, "--html", tmp_path / "r.html").code == 0
    html = (tmp_path / "r.html").read_text()
    assert f"below {LOW_SQNR_DB:.0f} dB is highlighted" in html and f"below {LOW_SQNR_DB + 10:.0f} dB" in html


def test_demo_script_has_no_stale_text() -> None:
    demo = (REPO / "scripts" / "demo.sh").read_text()
    assert "16 kB arena" not in demo and "later issue" not in demo
    assert "pip install 'tinygen[platformio]'" not in (REPO / "docs" / "platformio.md").read_text()


def dead_channel_head() -> onnx.ModelProto:
    """A classifier head whose last convolution has 100 of its 128 filters at zero (as VWW's last
    pointwise layer, 234 of 256): read by the average pool, they stay in the graph
    (passes/remove_constant_channels.py folds only into a convolution), and are not stored."""
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((128, 64, 1, 1)) * 0.2).astype(np.float32)
    w1[28:] = 0.0
    arrays = {"w1": w1, "b1": (rng.standard_normal(128) * 0.1).astype(np.float32),
              "w2": (rng.standard_normal((4, 128)) * 0.2).astype(np.float32), "b2": np.zeros(4, np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]), helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "head", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [numpy_helper.from_array(value, name) for name, value in arrays.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_fewer_constant_bytes_than_weights_is_explained(tinygen_cli, tmp_path: Path) -> None:
    """Constants far below the weights (dead channels are not stored; no pre-widened weights, whose int16
    copies count as constants): the summary and the report say why."""
    out = tmp_path / "head"
    onnx.save(dead_channel_head(), tmp_path / "head.onnx")
    compiled = tinygen_cli("compile", tmp_path / "head.onnx", "-o", out, "--calib", "random", "--wide-flash", "0")
    assert compiled.code == 0, compiled.err
    line = next(line for line in compiled.out.splitlines() if line.strip().startswith("weights"))
    assert "dead channels" in line and "fewer than the weights" in line
    report = tinygen_cli("report", out, "--no-sqnr")
    assert report.code == 0 and "dead channels" in report.out.splitlines()[0]


def _compile_with_stderr_on_a_terminal(out: Path, *flags: str) -> tuple[str, str]:
    """`tinygen compile` with stderr on a pseudo-terminal and stdout into a pipe: (stdout, stderr)."""
    import os
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "tinygen", *flags, "compile",
                                str(model_file("kws_dscnn", "int8_qdq")), "-o", str(out)],
                               stdout=subprocess.PIPE, stderr=follower, cwd=REPO, env={**os.environ, "COLUMNS": "100"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not data:
            break
        chunks.append(data)
    stdout = process.communicate(timeout=300)[0].decode()
    os.close(leader)
    assert process.returncode == 0
    return stdout, b"".join(chunks).decode(errors="replace")


def test_planning_progress_goes_to_the_terminal_never_into_stdout(tmp_path: Path) -> None:
    """Issue 17, silent waits: the planning steps show progress on stderr when it is a terminal, never
    in the (piped) standard output, and -q silences them."""
    stdout, stderr = _compile_with_stderr_on_a_terminal(tmp_path / "a")
    assert "planning: placing 13 layers' buffers in the arena" in stderr
    assert "planning: kernel variant search" in stderr
    assert "planning:" not in stdout and "compiled" in stdout
    quiet_out, quiet_err = _compile_with_stderr_on_a_terminal(tmp_path / "b", "-q")
    assert "planning:" not in quiet_err and "planning:" not in quiet_out
