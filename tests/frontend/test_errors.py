"""What tinygen refuses, and how: one clear error (no traceback, exit code 2 from the CLI) that
says what is wrong and where, and the output folder left untouched.

Covers unsupported models (every unsupported node listed at once, pointing at `tinygen ops`),
dynamic shapes, unreadable model files, bad calibration data, and the refusal to compile a float
model without calibration data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import tinygen
from tinygen.cli import main
from tinygen.errors import DataError, ModelError, TinygenError, UnsupportedModelError

from ..ops.harness import const, make_model, node, weights

TINYGEN = Path(sys.executable).parent / "tinygen"


# --- models -----------------------------------------------------------------------------------------

def conv_model() -> onnx.ModelProto:
    rng = np.random.default_rng(101)
    return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Relu", ["c"], "y")],
                      {"x": [1, 3, 6, 6]}, ["y"], {"W": weights(rng, 4, 3, 3, 3)})


def two_input_model() -> onnx.ModelProto:
    return make_model([node("Add", ["a", "b"], "y")], {"a": [1, 5], "b": [1, 5]}, ["y"])


# Every node below is unsupported for a different reason; the error must name each of them.
UNSUPPORTED = {
    # node name: (op, words of the reason)
    "sine_wave": ("Sin", "operator Sin is not supported"),
    "mirror_pad": ("Pad", "mode 'reflect' is not supported"),
    "hardmax_over_height": ("Hardmax", "operator Hardmax is not supported"),
    "runtime_division": ("Div", "division by a run-time tensor"),
    "custom_op": ("FancyOp", "operator FancyOp (domain 'com.example') is not supported"),
    "rounding": ("Round", "operator Round is not supported"),
}


def unsupported_model() -> onnx.ModelProto:
    nodes = [
        node("Sin", ["x"], "s", name="sine_wave"),
        node("Pad", ["s", "pads"], "p", name="mirror_pad", mode="reflect"),
        node("Relu", ["p"], "r", name="fine_relu"),
        node("MatMul", ["f", "g"], "mm", name="two_runtime_matmul"),
        node("Hardmax", ["r"], "sm", name="hardmax_over_height", axis=2),
        node("Div", ["f", "g"], "dv", name="runtime_division"),
        helper.make_node("FancyOp", ["f"], ["fancy"], name="custom_op", domain="com.example"),
        node("Round", ["sm"], "cc", name="rounding"),
    ]
    graph = helper.make_graph(
        nodes, "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4]),
         helper.make_tensor_value_info("f", TensorProto.FLOAT, ["N", 4]),
         helper.make_tensor_value_info("g", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("cc", "mm", "dv")]
        + [helper.make_tensor_value_info("fancy", TensorProto.FLOAT, ["N", 4])],
        [onnx.numpy_helper.from_array(const([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
    inferred = onnx.shape_inference.infer_shapes(model)
    for output in model.graph.output:
        if not output.type.tensor_type.HasField("shape"):
            match = next(o for o in inferred.graph.output if o.name == output.name)
            output.CopyFrom(match)
    onnx.checker.check_model(model)
    return model


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, model in [("conv", conv_model()), ("two_input", two_input_model()), ("unsupported", unsupported_model())]:
        paths[name] = tmp_path / f"{name}.onnx"
        onnx.save(model, paths[name])
    rng = np.random.default_rng(0)
    paths["conv_calib"] = tmp_path / "conv_calib.npy"
    np.save(paths["conv_calib"], rng.standard_normal((8, 3, 6, 6)).astype(np.float32))
    return paths


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_clean_failure(code: int, err: str, out_dir: Path, *phrases: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    # One message: tinygen's "error: ..." (after the --calib random warning, if any), or click's
    # usage error for arguments it checks itself (a directory given as the model file).
    assert sum(line.lower().startswith("error: ") for line in err.splitlines()) == 1, err
    for phrase in phrases:
        assert phrase in err, f"{phrase!r} not in:\n{err}"
    assert not out_dir.exists(), f"{out_dir} was created"
    assert not list(out_dir.parent.glob(f".{out_dir.name}.*")), "a staging folder was left behind"


# --- unsupported models ------------------------------------------------------------------------------

def test_every_unsupported_node_in_one_error(files: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedModelError) as info:
        tinygen.compile(files["unsupported"], None, calib="random", warn=lambda _: None)
    error = info.value
    assert len(error.problems) == len(UNSUPPORTED), str(error)
    by_node = {p.node: p for p in error.problems}
    for name, (op, reason) in UNSUPPORTED.items():
        assert by_node[name].op == op
        assert reason in by_node[name].reason, str(by_node[name])
    text = str(error)
    assert f"{len(UNSUPPORTED)} unsupported nodes:" in text
    for name, (op, _) in UNSUPPORTED.items():
        assert f"node '{name}' ({op})" in text
    assert "fine_relu" not in text
    assert "`tinygen ops`" in text


def test_unsupported_model_via_cli(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, _, err = cli(["compile", files["unsupported"], "-o", out, "--calib", "random"], capsys)
    assert_clean_failure(code, err, out, *[f"node '{n}' ({op}): {reason}" for n, (op, reason) in UNSUPPORTED.items()])
    assert err.count("\n  - ") == len(UNSUPPORTED)
    assert "tinygen ops" in err


# --- dynamic shapes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dims,expected", [
    (["N", 3, "height", "width"], ["dimension 2 ('height')", "dimension 3 ('width')"]),
    ([1, "channels", 8, 8], ["dimension 1 ('channels')"]),
    (["batch", 3, None, 8], ["dimension 2 ('?')"]),
])
def test_dynamic_shapes_are_refused(tmp_path: Path, capsys, dims: list, expected: list[str]) -> None:
    graph = helper.make_graph([node("Relu", ["image"], "y")], "g",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    path = tmp_path / "dynamic.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(ModelError) as info:
        tinygen.compile(path, None, calib="random", warn=lambda _: None)
    text = str(info.value)
    assert "dynamic shapes are not supported" in text
    for phrase in expected:
        assert f"input 'image' has a dynamic {phrase}" in text
    out = tmp_path / "out"
    code, _, err = cli(["compile", path, "-o", out, "--calib", "random"], capsys)
    assert_clean_failure(code, err, out, "dynamic", "only the batch dimension may be symbolic")


def test_input_without_shape_is_refused(tmp_path: Path) -> None:
    graph = helper.make_graph([node("Relu", ["x"], "y")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "noshape.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelError, match="x"):
        tinygen.compile(path, None, calib="random", warn=lambda _: None)


# --- unreadable files --------------------------------------------------------------------------------

def bad_model_files(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    garbage = folder / "garbage.onnx"
    garbage.write_bytes(bytes(range(256)) * 8)
    truncated = folder / "truncated.onnx"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    empty = folder / "empty.onnx"
    empty.write_bytes(b"")
    text = folder / "notes.onnx"
    text.write_text("this is not a model\n")
    directory = folder / "a_directory.onnx"
    directory.mkdir()
    return {
        "missing": (folder / "missing.onnx", "no such file"),
        "directory": (directory, "is a directory"),
        "garbage": (garbage, "not a readable ONNX model"),
        "truncated": (truncated, "not a readable ONNX model"),
        "empty": (empty, "the file holds no graph nodes"),
        "text": (text, "not a readable ONNX model"),
    }


@pytest.mark.parametrize("kind", ["missing", "directory", "garbage", "truncated", "empty", "text"])
def test_unreadable_model_files(files: dict[str, Path], tmp_path: Path, capsys, kind: str) -> None:
    path, phrase = bad_model_files(tmp_path, files["conv"])[kind]
    with pytest.raises(ModelError) as info:
        tinygen.compile(path, None, calib=str(files["conv_calib"]))
    assert str(path) in str(info.value) and phrase in str(info.value)
    out = tmp_path / "out"
    code, _, err = cli(["compile", path, "-o", out, "--calib", files["conv_calib"]], capsys)
    assert_clean_failure(code, err, out, str(path), phrase)


def test_no_traceback_from_the_installed_command(files: dict[str, Path], tmp_path: Path) -> None:
    """The `tinygen` executable itself (a separate process): exit 2, one message, no traceback."""
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07garbage" * 100)
    out = tmp_path / "out"
    env = {key: value for key, value in os.environ.items() if key != "TINYGEN_DEBUG"}  # no debug tracebacks
    for args, phrase in [([str(garbage), "-o", str(out), "--calib", str(files["conv_calib"])],
                          "not a readable ONNX model"),
                         ([str(files["unsupported"]), "-o", str(out), "--calib", "random"], "unsupported nodes"),
                         ([str(files["conv"]), "-o", str(out)], "calibration data is needed")]:
        result = subprocess.run([str(TINYGEN), "compile", *args], capture_output=True, text=True, env=env)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert sum(line.startswith("error: ") for line in result.stderr.splitlines()) == 1, result.stderr
        assert phrase in result.stderr, result.stderr
        assert not out.exists()


# --- calibration data --------------------------------------------------------------------------------

def bad_calibration(folder: Path) -> dict[str, tuple[str, str, str]]:
    """name -> (model, calibration file, phrase of the message)."""
    rng = np.random.default_rng(1)
    good = rng.standard_normal((4, 3, 6, 6)).astype(np.float32)
    cases = {}

    def save(name: str, array: np.ndarray | dict, model: str = "conv") -> Path:
        if isinstance(array, dict):
            path = folder / f"{name}.npz"
            np.savez(path, **array)
        else:
            path = folder / f"{name}.npy"
            np.save(path, array)
        return path

    nan = good.copy()
    nan[1, 2, 3, 4] = np.nan
    inf = good.copy()
    inf[0, 0, 0, 0] = -np.inf
    cases["wrong_shape"] = ("conv", save("wrong_shape", good[:, :, :5, :5]),
                            "has shape [4, 3, 5, 5]; expected (N, 3, 6, 6)")
    cases["channels_last"] = ("conv", save("channels_last", good.transpose(0, 2, 3, 1).copy()),
                              "expected (N, 3, 6, 6) in the model's layout")
    cases["strings"] = ("conv", save("strings", np.array([["a", "b"]] * 3)), "has shape")
    cases["string_values"] = ("conv", save("string_values", np.full((2, 3, 6, 6), "x")), "has dtype <U1")
    cases["nan"] = ("conv", save("nan", nan), "contains 1 NaN or infinite value(s)")
    cases["inf"] = ("conv", save("inf", inf), "contains 1 NaN or infinite value(s)")
    cases["empty"] = ("conv", save("empty", good[:0]), "holds no samples")
    cases["missing_key"] = ("two_input", save("missing_key", {"a": good[:, 0, 0, :5]}),
                            "no array for model input(s) ['b']")
    cases["npy_for_two_inputs"] = ("two_input", save("npy_two", good[:, 0, 0, :5]),
                                   "a .npy holds one array, but the model has inputs ['a', 'b']")
    garbage = folder / "garbage.npy"
    garbage.write_bytes(b"not numpy at all")
    cases["garbage"] = ("conv", garbage, "not a readable .npy/.npz file")
    cases["missing_file"] = ("conv", folder / "nowhere.npy", "no such file")
    pickled = folder / "pickled.npy"
    np.save(pickled, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    cases["object_array"] = ("conv", pickled, "not a readable .npy/.npz file")
    return {k: (m, str(p), phrase) for k, (m, p, phrase) in cases.items()}


CALIBRATION_CASES = ["wrong_shape", "channels_last", "strings", "string_values", "nan", "inf", "empty",
                     "missing_key", "npy_for_two_inputs", "garbage", "missing_file", "object_array"]


@pytest.mark.parametrize("kind", CALIBRATION_CASES)
def test_bad_calibration_data(files: dict[str, Path], tmp_path: Path, capsys, kind: str) -> None:
    model, calib, phrase = bad_calibration(tmp_path)[kind]
    with pytest.raises(DataError) as info:
        tinygen.compile(files[model], None, calib=calib)
    assert calib in str(info.value) and phrase in str(info.value), str(info.value)
    out = tmp_path / "out"
    code, _, err = cli(["compile", files[model], "-o", out, "--calib", calib], capsys)
    assert_clean_failure(code, err, out, calib, phrase)


def test_failed_compile_leaves_an_existing_output_untouched(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, _, err = cli(["compile", files["conv"], "-o", out, "--calib", files["conv_calib"]], capsys)
    assert code == 0, err
    before = snapshot(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    _, nan_file, _ = bad_calibration(tmp_path)["nan"]
    for args in (["--calib", nan_file], ["--calib", "random", "--calib-method", "median"], []):
        code, _, err = cli(["compile", files["conv"], "-o", out, *args], capsys)
        assert code == 2 and "Traceback" not in err, err
    code, _, err = cli(["compile", files["unsupported"], "-o", out, "--calib", "random"], capsys)
    assert code == 2, err
    assert snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_a_folder_tinygen_did_not_write_is_not_replaced(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = cli(["compile", files["conv"], "-o", out, "--calib", files["conv_calib"]], capsys)
    assert code == 2 and "was not written by tinygen" in err, err
    assert snapshot(out) == {"notes.txt": b"keep me"}


# --- calibration is required -------------------------------------------------------------------------

def test_compile_without_calibration_is_refused(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    with pytest.raises(DataError, match="calibration data is needed"):
        tinygen.compile(files["conv"], None)
    out = tmp_path / "out"
    code, _, err = cli(["compile", files["conv"], "-o", out], capsys)
    assert_clean_failure(code, err, out, "calibration data is needed", "--calib FILE", "--calib random")


def test_random_calibration_warns_loudly(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli(["compile", files["conv"], "-o", out, "--calib", "random"], capsys)
    assert code == 0, err
    assert "WARNING" in err and "random" in err and "meaningless" in err
    assert "WARNING" not in stdout
    assert (out / ".tinygen" / "manifest.json").exists()
    warnings: list[str] = []
    tinygen.compile(files["conv"], tmp_path / "out2", calib="random", warn=warnings.append)
    assert len(warnings) == 1 and "--calib FILE" in warnings[0]


def test_unknown_calibration_method(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    for method, phrase in [("median", "unknown calibration method 'median'"),
                           ("percentile:30", "the percentile must be in (50, 100]"),
                           ("percentile:abc", "the percentile must be in (50, 100]")]:
        code, _, err = cli(["compile", files["conv"], "-o", out, "--calib", files["conv_calib"],
                            "--calib-method", method], capsys)
        assert_clean_failure(code, err, out, phrase)


def test_errors_are_tinygen_errors() -> None:
    """Everything above is a TinygenError: the CLI's exit code 2 path, never an internal error."""
    assert issubclass(UnsupportedModelError, TinygenError) and issubclass(DataError, TinygenError)
