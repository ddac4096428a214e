"""Regression tests for the causes of issue 14 (bad input never reaches an internal error), one or more
per numbered cause, and the input-shape items of issue 11. Each failed before the fix (exit 3, a
traceback, C that does not build, or files left behind). Cause 12 (streaming calibration) is covered by
the calibration tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinygen
from tinygen.outdir import MARKER

from ..conftest import REPO

F = np.float32


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def conv_model(batch: object = 1, *, weights: np.ndarray | None = None, bias: np.ndarray | None = None,
               extra_nodes: list | None = None, output: str = "y", reshape_batch: int | None = None,
               **conv_attrs: object) -> onnx.ModelProto:
    """x [batch, 3, 8, 8] -> Conv(4, 3x3, pad 1) -> Relu -> Reshape [batch, -1] -> Gemm(5): the shape of a
    small classifier, with a literal Reshape target as exporters write it for a fixed batch."""
    rng = np.random.default_rng(0)
    w = weights if weights is not None else (0.3 * rng.standard_normal((4, 3, 3, 3))).astype(F)
    b = bias if bias is not None else rng.standard_normal(4).astype(F)
    n = reshape_batch if reshape_batch is not None else (batch if isinstance(batch, int) else 1)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(np.array([n, -1], np.int64), "target"),
             numpy_helper.from_array((0.1 * rng.standard_normal((5, 256))).astype(F), "fc")]
    attrs = {k: v for k, v in {"pads": [1, 1, 1, 1], **conv_attrs}.items() if v is not None}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", **attrs),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "target"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1), *(extra_nodes or [])]
    graph = helper.make_graph(nodes, "robust",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["n", "k"])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def assert_clean(result, *phrases: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert result.err.startswith("error:") or "\nerror:" in result.err or result.err.startswith("Error"), result.err
    for phrase in phrases:
        assert phrase in result.err, (phrase, result.err)


def assert_bit_exact(out: Path) -> None:
    model = tinygen.load(out)
    x = np.random.default_rng(1).integers(-128, 128, size=(4, *model.inputs[0]["onnx_shape"][1:]), dtype=np.int8)
    assert np.array_equal(model.run(x, int8=True), model.golden(x, int8=True))


# --- cause 1: a fixed batch of N > 1 ---------------------------------------------------------------------

def test_cause01_fixed_batch_is_compiled_per_sample(tinygen_cli, tmp_path: Path) -> None:
    path = save(conv_model(2), tmp_path / "batch2.onnx")
    out = tmp_path / "out"
    result = tinygen_cli("compile", path, "-o", out, "--calib", "random")
    assert result.code == 0, result.err
    assert "fixed batch of 2" in result.out and "compiles batch 1" in result.out
    manifest = json.loads((out / MARKER).read_text())
    assert manifest["inputs"][0]["onnx_shape"] == [1, 3, 8, 8]
    assert any("fixed batch of 2" in note for note in manifest["notes"])
    assert_bit_exact(out)
    verify = tinygen_cli("verify", out)
    assert verify.code == 0 and "SQNR" in verify.out, verify.out + verify.err  # onnxruntime ran it per sample


def test_cause01_fixed_batch_of_a_qdq_model(tinygen_cli, tmp_path: Path) -> None:
    scale = [numpy_helper.from_array(np.array(0.05, F), "s"), numpy_helper.from_array(np.array(0, np.int8), "z")]
    model = conv_model(2)
    model.graph.initializer.extend(scale)
    first = model.graph.node[0]
    first.input[0] = "xd"
    model.graph.node.insert(0, helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"], name="dq"))
    model.graph.node.insert(0, helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="q"))
    result = tinygen_cli("compile", save(model, tmp_path / "qdq2.onnx"), "-o", tmp_path / "out", "--calib", "random")
    assert result.code == 0, result.err


def test_cause01_batch_mixing_model_is_a_clear_error(tinygen_cli, tmp_path: Path) -> None:
    extra = [helper.make_node("ReduceMean", ["y"], ["m"], name="batch_mean", axes=[0], keepdims=1)]
    path = save(conv_model(2, extra_nodes=extra, output="m"), tmp_path / "mix.onnx")
    for command in (["inspect", path], ["compile", path, "-o", tmp_path / "out", "--calib", "random"]):
        assert_clean(tinygen_cli(*command), "fixed batch of 2", "node 'batch_mean' (ReduceMean)", "axis 0",
                     "batch of 1")


# --- cause 2: NaN, Inf, huge values -------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf, 3e38])
def test_cause02_non_finite_weights_and_biases(tinygen_cli, tmp_path: Path, value: float) -> None:
    w = (0.3 * np.ones((4, 3, 3, 3))).astype(F)
    w[1, 0, 0, 0] = value
    b = np.zeros(4, F)
    b[2] = value
    path = save(conv_model(weights=w, bias=b), tmp_path / "m.onnx")
    for command in (["inspect", path], ["compile", path, "-o", tmp_path / "out", "--calib", "random"]):
        result = tinygen_cli(*command)
        assert_clean(result, "2 problems", "initializer 'w'", "initializer 'b'")  # all listed at once
    assert not (tmp_path / "out").exists()


def test_cause02_gemm_alpha_and_clip_bounds(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model()
    helper_attr = model.graph.node[3]
    helper_attr.attribute.extend([helper.make_attribute("alpha", float("nan"))])
    model.graph.initializer.extend([numpy_helper.from_array(np.array(np.nan, F), "lo")])
    model.graph.node.append(helper.make_node("Clip", ["y", "lo"], ["z"], name="clip"))
    model.graph.output[0].name = "z"
    assert_clean(tinygen_cli("compile", save(model, tmp_path / "m.onnx"), "-o", tmp_path / "o", "--calib", "random"),
                 "node 'fc' (Gemm): attribute 'alpha'", "initializer 'lo'")


def test_cause02_infinite_clip_bound_means_no_bound(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model()
    model.graph.initializer.extend([numpy_helper.from_array(np.array(0, F), "lo"),
                                    numpy_helper.from_array(np.array(np.inf, F), "hi")])
    model.graph.node.append(helper.make_node("Clip", ["y", "lo", "hi"], ["z"], name="relu_as_clip"))
    model.graph.output[0].name = "z"
    out = tmp_path / "o"
    result = tinygen_cli("compile", save(model, tmp_path / "m.onnx"), "-o", out, "--calib", "random")
    assert result.code == 0, result.err
    assert "inf" not in (out / "lib" / "m" / "m.c").read_text()
    assert_bit_exact(out)


def test_cause02_huge_calibration_values(tinygen_cli, tmp_path: Path) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    calib = np.zeros((4, 3, 8, 8), F)
    calib[1] = 3e38
    np.save(tmp_path / "calib.npy", calib)
    assert_clean(tinygen_cli("compile", path, "-o", tmp_path / "out", "--calib", tmp_path / "calib.npy"),
                 "NaN, infinite or huge", "finite range")


# --- cause 3: file-system errors ----------------------------------------------------------------------------

def test_cause03_output_under_a_regular_file(tinygen_cli, tmp_path: Path) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    (tmp_path / "file").write_text("x")
    assert_clean(tinygen_cli("compile", path, "-o", tmp_path / "file" / "out", "--calib", "random"),
                 "is a file, not a folder")


def test_cause03_output_is_the_current_folder(tinygen_cli, tmp_path: Path, monkeypatch) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    assert_clean(tinygen_cli("compile", path, "-o", ".", "--force", "--calib", "random"), "current folder")
    assert (work / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]


def test_cause03_full_disk_and_missing_folder_for_run_output(tinygen_cli, tmp_path: Path) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    out = tmp_path / "out"
    assert tinygen_cli("compile", path, "-o", out, "--calib", "random").code == 0
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 8, 8), F))
    assert_clean(tinygen_cli("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "nodir" / "y.npy"),
                 "does not exist")
    if Path("/dev/full").exists():  # a real full device: every write fails with ENOSPC
        full = tmp_path / "y.npy"  # named .npy so the format check passes; the write then hits the device
        full.symlink_to("/dev/full")
        assert_clean(tinygen_cli("run", out, "--input", tmp_path / "x.npy", "--output", full), "y.npy", "space")


def test_cause03_unusable_cache_folder(tinygen_cli, tmp_path: Path, monkeypatch) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    out = tmp_path / "out"
    assert tinygen_cli("compile", path, "-o", out, "--calib", "random").code == 0
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "file" / "cache"))
    assert_clean(tinygen_cli("verify", out), "build cache folder", "TINYGEN_CACHE")


def test_cause03_unwritable_parent(tinygen_cli, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    path = save(conv_model(), tmp_path / "m.onnx")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert_clean(tinygen_cli("compile", path, "-o", locked / "out", "--calib", "random"), "ermission denied")
    finally:
        locked.chmod(0o700)


# --- cause 4: file names of system headers and of tinygen's libraries ----------------------------------------

@pytest.mark.parametrize("stem", ["string", "stdint", "tinygen_kernels"])
def test_cause04_reserved_file_names(tinygen_cli, tmp_path: Path, stem: str) -> None:
    path = save(conv_model(), tmp_path / f"{stem}.onnx")
    out = tmp_path / "out"
    assert tinygen_cli("compile", path, "-o", out, "--calib", "random").code == 0
    assert not (out / "lib" / stem / f"{stem}.h").exists()
    kernels = json.loads((out / "lib" / "tinygen_kernels" / "library.json").read_text())
    assert kernels["name"] == "tinygen_kernels"
    assert_bit_exact(out)  # the C builds (string.h was shadowed before)


# --- cause 5: Ctrl-C ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("delay", [0.3, 0.8])  # in tinygen's imports (before them Python itself is starting)
def test_cause05_ctrl_c_at_any_moment(tmp_path: Path, delay: float) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "tinygen", "compile", str(path), "-o", str(tmp_path / "o"),
                                "--calib", "random"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    time.sleep(delay)  # in the imports
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the compile finished before the interrupt")
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted", err


def test_cause05_ctrl_c_wrapped_by_an_extension_is_an_interrupt(monkeypatch, capsys) -> None:
    """An interrupt while onnxruntime's pybind11 module initializes surfaces as ImportError
    ("initialization failed") whose cause is the KeyboardInterrupt: that is Ctrl-C, not a bug."""
    from tinygen import cli

    def import_fails(*_args: object, **_kwargs: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setattr(cli.cli, "main", import_fails)
    assert cli.main(["ops"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert not cli.interrupted_inside(ImportError("no module named x"))


# --- cause 6: stale staging folders ----------------------------------------------------------------------

def test_cause06_stale_staging_folders_are_swept(tinygen_cli, tmp_path: Path) -> None:
    path = save(conv_model(), tmp_path / "m.onnx")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [tmp_path / f".out.{dead.pid}.abc123.tmp", tmp_path / f".out.{dead.pid}.def456.old",
             tmp_path / ".out.oldstyle.tmp"]
    for folder in stale:
        (folder / "lib").mkdir(parents=True)
    old = time.time() - 3600
    os.utime(stale[2], (old, old))
    live = tmp_path / f".out.{os.getpid()}.live.tmp"  # a writer still running keeps its folder
    live.mkdir()
    assert tinygen_cli("compile", path, "-o", tmp_path / "out", "--calib", "random").code == 0
    assert not any(folder.exists() for folder in stale) and live.exists()
    for file in (tmp_path / "out").rglob("*"):  # a read-only old OUT is still removed on rewrite
        file.chmod(0o444 if file.is_file() else 0o555)
    assert tinygen_cli("compile", path, "-o", tmp_path / "out", "--calib", "random").code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == [live.name]


# --- cause 7: external data ----------------------------------------------------------------------------------

def test_cause07_external_data_is_embedded(tinygen_cli, tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(conv_model(), path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.data", size_threshold=0)
    out = tmp_path / "out"
    assert tinygen_cli("compile", path, "-o", out, "--calib", "random").code == 0
    (tmp_path / "ext.data").unlink()
    stored = onnx.load(out / ".tinygen" / "model.onnx", load_external_data=False)
    assert not any(t.data_location == TensorProto.EXTERNAL for t in stored.graph.initializer)
    verify = tinygen_cli("verify", out)
    assert verify.code == 0 and "SQNR" in verify.out and "skipped" not in verify.out, verify.out
    assert tinygen_cli("report", out).code == 0


def test_cause07_missing_external_data_is_a_clear_error(tinygen_cli, tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(conv_model(), path, save_as_external_data=True, location="ext.data", size_threshold=0)
    (tmp_path / "ext.data").unlink()
    assert_clean(tinygen_cli("inspect", path), "ext.onnx")


# --- cause 8: onnxruntime fails while running ----------------------------------------------------------------

def test_cause08_onnxruntime_run_failure(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model(auto_pad="SAME_UPPER", dilations=[2, 2], pads=None)  # onnxruntime: "Dilation not supported"
    result = tinygen_cli("compile", save(model, tmp_path / "m.onnx"), "-o", tmp_path / "out", "--calib", "random")
    assert_clean(result)
    assert "onnxruntime" in result.err or "auto_pad" in result.err, result.err


# --- cause 9: no outputs -------------------------------------------------------------------------------------

def test_cause09_graph_without_outputs(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model()
    del model.graph.output[:]
    path = save(model, tmp_path / "m.onnx")
    for command in (["inspect", path], ["compile", path, "-o", tmp_path / "out", "--calib", "random"]):
        assert_clean(tinygen_cli(*command), "no outputs")


# --- cause 10: malformed constants and graphs ----------------------------------------------------------------

def test_cause10_every_problem_listed_at_once_in_inspect_and_compile(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model()
    weights = next(t for t in model.graph.initializer if t.name == "w")
    weights.raw_data = weights.raw_data + b"\x00\x01\x02"  # too long and odd
    fc = next(t for t in model.graph.initializer if t.name == "fc")
    fc.data_type = 999  # unknown element type
    model.graph.node[1].name = "conv"  # a duplicate node name
    path = save(model, tmp_path / "m.onnx")
    for command in (["inspect", path], ["compile", path, "-o", tmp_path / "out", "--calib", "random"]):
        assert_clean(tinygen_cli(*command), "3 problems", "initializer 'w'", "bytes of data",
                     "unknown element type 999", "2 nodes are named 'conv'")


@pytest.mark.parametrize("shape,phrase", [((4, 3, 3, 3, 1), "rank"), ((108,), "rank"),
                                          ((4, 3, 1, 1), "kernel_shape")])
def test_cause10_weights_of_the_wrong_rank(tinygen_cli, tmp_path: Path, shape: tuple, phrase: str) -> None:
    w = np.ones(shape, F) * 0.1 if np.prod(shape) != 108 else np.ones(108, F)
    path = save(conv_model(weights=w, kernel_shape=[3, 3]), tmp_path / "m.onnx")
    for command in (["inspect", path], ["compile", path, "-o", tmp_path / "out", "--calib", "random"]):
        assert_clean(tinygen_cli(*command), "node 'conv' (Conv)", phrase)


def test_cause10_batchnorm_statistics_of_shape_c_by_1(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model()
    stats = {name: np.ones((4, 1), F) for name in ("g", "be", "mu", "var")}
    model.graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in stats.items())
    model.graph.node.insert(1, helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["cb"], name="bn"))
    model.graph.node[2].input[0] = "cb"
    assert_clean(tinygen_cli("inspect", save(model, tmp_path / "m.onnx")), "node 'bn' (BatchNormalization)",
                 "must be [C]")


# --- cause 11: huge tensors ----------------------------------------------------------------------------------

def test_cause11_huge_folded_constant_is_refused_fast(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model()
    model.graph.initializer.extend([numpy_helper.from_array(np.array([1 << 25, 16], np.int64), "huge_shape")])
    model.graph.node.append(helper.make_node("ConstantOfShape", ["huge_shape"], ["huge"], name="huge_constant",
                                             value=numpy_helper.from_array(np.array([1.0], F))))
    model.graph.output.extend([helper.make_tensor_value_info("huge", TensorProto.FLOAT, [1 << 25, 16])])
    start = time.perf_counter()
    assert_clean(tinygen_cli("compile", save(model, tmp_path / "m.onnx"), "-o", tmp_path / "o", "--calib", "random"),
                 "huge", "microcontroller")
    assert time.perf_counter() - start < 20


def test_cause11_huge_input_is_refused_fast(tinygen_cli, tmp_path: Path) -> None:
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2_000_000, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2_000_000, 9])])
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "m.onnx")
    start = time.perf_counter()
    assert_clean(tinygen_cli("compile", path, "-o", tmp_path / "o", "--calib", "random"), "18,000,000 elements")
    assert time.perf_counter() - start < 20


# --- issue 11: input shapes ----------------------------------------------------------------------------------

def test_input_shape_pins_dynamic_dimensions(tinygen_cli, tmp_path: Path) -> None:
    model = conv_model("N")
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].Clear()
    dims[2].dim_param = "H"
    path = save(model, tmp_path / "m.onnx")
    assert_clean(tinygen_cli("inspect", path), "dynamic dimension 2 ('H')", "--input-shape x=1,3,<H>,8")
    assert tinygen_cli("inspect", path, "--input-shape", "x=1,3,8,8").code == 0
    out = tmp_path / "out"
    assert tinygen_cli("compile", path, "-o", out, "--calib", "random", "--input-shape", "x=1,3,8,8").code == 0
    assert json.loads((out / MARKER).read_text())["inputs"][0]["onnx_shape"] == [1, 3, 8, 8]
    api = tinygen.compile(path, tmp_path / "api", calib="random", input_shapes={"x": (1, 3, 8, 8)},
                          warn=lambda _: None)
    assert api.inputs[0]["onnx_shape"] == [1, 3, 8, 8]
    assert_clean(tinygen_cli("inspect", path, "--input-shape", "y=1,3,8,8"), "'y', which is not a model input")


@pytest.mark.parametrize("case", ["test_Conv2d", "test_Linear", "test_ConstantPad2d", "test_Linear_no_bias"])
def test_ir3_opset6_files_with_initializers_as_inputs(tinygen_cli, tmp_path: Path, case: str) -> None:
    path = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted" / case / "model.onnx"
    out = tmp_path / "out"
    result = tinygen_cli("compile", path, "-o", out, "--calib", "random")
    assert result.code == 0, result.err
    assert_bit_exact(out)
