"""The command line end to end: `tinygen compile` is deterministic, `tinygen run` takes .npy and
.npz (keyed by ONNX names, for models with several inputs and outputs), float or --int8,
`tinygen verify` passes, and names from the model never reach the C code unsanitized."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import tinygen
from tinygen.cli import main

from ..conftest import assert_identical
from ..ops.harness import const, make_model, node, onnxruntime_outputs, weights


def cli(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def multi_io_model() -> onnx.ModelProto:
    """Two inputs (a feature map and a feature vector), three outputs of different layouts."""
    rng = np.random.default_rng(111)
    inits = {"W": weights(rng, 4, 3, 3, 3), "F": weights(rng, 5, 6), "G": weights(rng, 3, 4 * 6 * 6 + 5)}
    nodes = [node("Conv", ["image", "W"], "features", pads=[1, 1, 1, 1]),
             node("Relu", ["features"], "feature_map"),
             node("Gemm", ["meta", "F"], "meta_out", transB=1),
             node("Flatten", ["feature_map"], "flat"),
             node("Concat", ["flat", "meta_out"], "joined", axis=1),
             node("Gemm", ["joined", "G"], "logits", transB=1)]
    return make_model(nodes, {"image": [1, 3, 6, 6], "meta": [1, 6]}, ["logits", "feature_map", "meta_out"], inits)


@pytest.fixture(scope="module")
def multi_io(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("multi_io")
    model_path = folder / "multi_io.onnx"
    onnx.save(multi_io_model(), model_path)
    rng = np.random.default_rng(5)
    data = {"image": rng.standard_normal((12, 3, 6, 6)).astype(np.float32),
            "meta": rng.standard_normal((12, 6)).astype(np.float32)}
    np.savez(folder / "calib.npz", **data)
    out = folder / "out"
    assert main(["-q", "compile", str(model_path), "-o", str(out), "--calib", str(folder / "calib.npz")]) == 0
    return {"folder": folder, "model": model_path, "out": out, "data": data}


# --- determinism -------------------------------------------------------------------------------------

def test_compiling_twice_gives_identical_folders(multi_io: dict, tmp_path: Path, capsys) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        code, _, err = cli(["compile", multi_io["model"], "-o", out, "--calib", multi_io["folder"] / "calib.npz"],
                           capsys)
        assert code == 0, err
    a, b = snapshot(first), snapshot(second)
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert not different, f"files differ between two compiles: {different}"
    assert snapshot(multi_io["out"]) == a  # and the module's own compile, in another folder
    # Compiling again into the same folder replaces it with the same bytes.
    code, _, err = cli(["compile", multi_io["model"], "-o", first, "--calib", multi_io["folder"] / "calib.npz"], capsys)
    assert code == 0, err
    assert snapshot(first) == a


def test_random_calibration_is_deterministic(multi_io: dict, tmp_path: Path) -> None:
    quiet = {"warn": lambda _: None}
    a = tinygen.compile(multi_io["model"], tmp_path / "a", calib="random", **quiet)
    b = tinygen.compile(multi_io["model"], tmp_path / "b", calib="random", **quiet)
    assert snapshot(a.out_dir) == snapshot(b.out_dir)


# --- run and verify ----------------------------------------------------------------------------------

def test_run_multi_input_multi_output_npz(multi_io: dict, tmp_path: Path, capsys) -> None:
    x = {k: v[:5] for k, v in multi_io["data"].items()}
    np.savez(tmp_path / "x.npz", **x)
    code, out, err = cli(["run", multi_io["out"], "--input", tmp_path / "x.npz", "--output", tmp_path / "y.npz"],
                         capsys)
    assert code == 0, err
    assert "ran 5 sample(s)" in out
    with np.load(tmp_path / "y.npz") as y:
        assert sorted(y.files) == ["feature_map", "logits", "meta_out"]
        assert y["logits"].shape == (5, 3) and y["feature_map"].shape == (5, 4, 6, 6)
        assert y["meta_out"].shape == (5, 5) and y["logits"].dtype == np.float32
        model = tinygen.load(multi_io["out"])
        golden = model.golden(x)
        for name in y.files:
            assert_identical(golden[name], y[name], name)
        reference = dict(zip(["logits", "feature_map", "meta_out"],
                             onnxruntime_outputs(multi_io["model"], x), strict=True))
        for io in model.outputs:
            error = np.abs(y[io["name"]] - reference[io["name"]]).max()
            assert error <= 4 * max(o["scale"] for o in model.outputs + model.inputs), io["name"]


def test_run_int8_npz(multi_io: dict, tmp_path: Path, capsys) -> None:
    model = tinygen.load(multi_io["out"])
    x = {io["name"]: model.quantize(io, multi_io["data"][io["name"]][:3]) for io in model.inputs}
    np.savez(tmp_path / "x8.npz", **x)
    code, _, err = cli(["run", multi_io["out"], "--input", tmp_path / "x8.npz", "--output", tmp_path / "y8.npz",
                        "--int8"], capsys)
    assert code == 0, err
    golden = model.golden(x, int8=True)
    with np.load(tmp_path / "y8.npz") as y:
        for name in golden:
            assert y[name].dtype == np.int8
            assert_identical(golden[name], y[name], name)


def test_run_npz_missing_input_and_float_for_int8(multi_io: dict, tmp_path: Path, capsys) -> None:
    np.savez(tmp_path / "partial.npz", image=multi_io["data"]["image"][:2])
    code, _, err = cli(["run", multi_io["out"], "--input", tmp_path / "partial.npz", "--output", tmp_path / "y.npz"],
                       capsys)
    assert code == 2 and "no array for model input(s) ['meta']" in err and "Traceback" not in err
    np.savez(tmp_path / "float.npz", **multi_io["data"])
    code, _, err = cli(["run", multi_io["out"], "--input", tmp_path / "float.npz", "--output", tmp_path / "y.npz",
                        "--int8"], capsys)
    assert code == 2 and "--int8 expects int8" in err
    assert not (tmp_path / "y.npz").exists()


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("single")
    rng = np.random.default_rng(7)
    model = make_model([node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Relu", ["c"], "r"),
                        node("GlobalAveragePool", ["r"], "g"), node("Flatten", ["g"], "f"),
                        node("Gemm", ["f", "F"], "y", transB=1), ],
                       {"x": [1, 3, 8, 8]}, ["y"], {"W": weights(rng, 6, 3, 3, 3), "F": weights(rng, 4, 6)})
    onnx.save(model, folder / "single.onnx")
    x = rng.standard_normal((10, 3, 8, 8)).astype(np.float32)
    np.save(folder / "calib.npy", x)
    out = folder / "out"
    assert main(["-q", "compile", str(folder / "single.onnx"), "-o", str(out), "--calib",
                 str(folder / "calib.npy")]) == 0
    return {"folder": folder, "out": out, "x": x}


def test_run_npy_float_and_int8(single: dict, tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "x.npy", single["x"])
    code, _, err = cli(["run", single["out"], "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy"], capsys)
    assert code == 0, err
    y = np.load(tmp_path / "y.npy")
    model = tinygen.load(single["out"])
    assert y.shape == (10, 4) and y.dtype == np.float32
    assert_identical(model.golden(single["x"]), y)
    x8 = model.quantize(model.inputs[0], single["x"])
    np.save(tmp_path / "x8.npy", x8)
    code, _, err = cli(["run", single["out"], "--input", tmp_path / "x8.npy", "--output", tmp_path / "y8.npy",
                        "--int8"], capsys)
    assert code == 0, err
    y8 = np.load(tmp_path / "y8.npy")
    assert y8.dtype == np.int8
    assert_identical(model.quantize(model.outputs[0], y), y8)
    # A .npz for a one-input model, keyed by the input's name; a single sample without batch axis.
    np.savez(tmp_path / "x.npz", x=single["x"][:2])
    code, _, err = cli(["run", single["out"], "--input", tmp_path / "x.npz", "--output", tmp_path / "y2.npy"], capsys)
    assert code == 0, err
    assert_identical(y[:2], np.load(tmp_path / "y2.npy"))
    np.save(tmp_path / "one.npy", single["x"][0])
    code, _, err = cli(["run", single["out"], "--input", tmp_path / "one.npy", "--output", tmp_path / "y1.npy"],
                       capsys)
    assert code == 0, err
    assert_identical(y[:1], np.load(tmp_path / "y1.npy"))


def test_verify_passes(single: dict, multi_io: dict, tmp_path: Path, capsys) -> None:
    code, out, err = cli(["verify", single["out"]], capsys)
    assert code == 0, err
    assert "identical (bit-exact)" in out and "SQNR" in out
    np.save(tmp_path / "x.npy", single["x"][:4])
    code, out, err = cli(["verify", single["out"], "--input", tmp_path / "x.npy"], capsys)
    assert code == 0 and "on 4 sample(s)" in out, err
    code, out, err = cli(["verify", multi_io["out"]], capsys)
    assert code == 0, err
    assert out.count("SQNR") == 3


def test_verify_fails_on_tampered_output(single: dict, tmp_path: Path, capsys) -> None:
    """Exit 1 when the C differs from the golden reference (a changed requantization shift)."""
    import shutil

    out = tmp_path / "tampered"
    shutil.copytree(single["out"], out)
    model_c = next((out / "lib").glob("*/single.c"))
    text = model_c.read_text()
    assert ".output_offset = " in text
    model_c.write_text(text.replace(".output_offset = ", ".output_offset = 1 + ", 1))
    code, _, err = cli(["verify", out], capsys)
    assert code == 1, err
    assert "MISMATCH" in err


# --- names from the model ----------------------------------------------------------------------------

NASTY = ['conv */ int main(void) { return 1; } /*', 'tensor "quoted" \\ \'single\'', "line\nbreak\r\n#define X",
         "non-ASCII ünïcödé 名前 ✓", "int", "return", "static", "??/ trigraph", "// comment", "tg_conv_s8", "main"]


def nasty_model() -> onnx.ModelProto:
    """Every node and tensor name is hostile: comment terminators, quotes, newlines, non-ASCII,
    C keywords, kernel function names."""
    rng = np.random.default_rng(121)
    x_name, w_name, c_name, r_name, y_name = "input */ \"x\"\n", "static", NASTY[1], "int", "output ü */"
    inits = {w_name: weights(rng, 4, 3, 3, 3), "void": weights(rng, 2, 4 * 16), "for": const([0.5, -0.5])}
    nodes = [node("Conv", [x_name, w_name], c_name, name=NASTY[0], pads=[1, 1, 1, 1]),
             node("Relu", [c_name], r_name, name=NASTY[2]),
             node("Flatten", [r_name], "while", name=NASTY[3]),
             node("Gemm", ["while", "void", "for"], "main", name=NASTY[4], transB=1),
             node("Sigmoid", ["main"], y_name, name=NASTY[5]),
             node("Tanh", ["main"], "tg_conv_s8", name=NASTY[9])]
    return make_model(nodes, {x_name: [1, 3, 4, 4]}, [y_name, "tg_conv_s8"], inits)


def test_hostile_names_compile_with_werror(tmp_path: Path, capsys) -> None:
    path = tmp_path / "weird model (v2) */.onnx".replace("/", "_")
    onnx.save(nasty_model(), path)
    out = tmp_path / "out"
    code, _, err = cli(["compile", path, "-o", out, "--calib", "random", "--name", "int"], capsys)
    assert code == 0, err
    model = tinygen.load(out)
    assert model.name.startswith("int") and model.name.isidentifier() and model.name.isascii()
    sources = sorted(out.glob("lib/**/*.c")) + sorted(out.glob("lib/**/*.h")) + sorted(out.glob("src/**/*.c"))
    for source in sources:
        text = source.read_bytes()
        assert text.isascii(), f"{source.name} holds non-ASCII bytes"
        # Outside comments, nothing of the names' payloads is left (a name that closed its comment
        # would have defined main() or a macro in the model's C).
        code = re.sub(r"/\*.*?\*/", " ", text.decode(), flags=re.DOTALL)
        code = re.sub(r"//[^\n]*", " ", code)
        for payload in ("main(void) { return 1; }", "#define X", "trigraph", "quoted", "\\'single"):
            assert payload not in code, f"{source.name}: {payload!r} outside a comment"
    lib = out / "lib"
    includes = [f"-I{folder}" for folder in sorted({h.parent for h in lib.glob("**/*.h")})]
    for compiler in ("gcc", "clang"):
        for source in sorted(lib.glob("**/*.c")):
            result = subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c",
                                     *includes, str(source), "-o", str(tmp_path / "obj.o")],
                                    capture_output=True, text=True)
            assert result.returncode == 0, f"{compiler} rejects {source.name}:\n{result.stderr}"
    # The host simulator (gcc -Werror as well) runs it, and the outputs keep their ONNX names.
    x = np.random.default_rng(0).standard_normal((3, 3, 4, 4)).astype(np.float32)
    inputs = {model.inputs[0]["name"]: x}
    golden, host = model.golden(inputs), model.run(inputs)
    assert sorted(host) == sorted(["output ü */", "tg_conv_s8"])
    for name in host:
        assert_identical(golden[name], host[name], name)
    manifest = json.loads((out / ".tinygen" / "manifest.json").read_text())
    assert manifest["inputs"][0]["name"] == "input */ \"x\"\n"


def test_hostile_names_in_header_comments(tmp_path: Path) -> None:
    """The header documents the ONNX names of inputs and outputs, defanged for C comments."""
    path = tmp_path / "m.onnx"
    onnx.save(nasty_model(), path)
    model = tinygen.compile(path, tmp_path / "out", calib="random", warn=lambda _: None)
    header = next((model.out_dir / "lib").glob("*/m.h")).read_text()
    assert header.count("/*") == header.count("*/")
    assert "output ?? *?/" in header or "output ? *?/" in header


def test_model_with_name_clash_after_sanitizing(tmp_path: Path) -> None:
    """Tensors 'a b' and 'a_b' sanitize alike; both still get distinct C symbols."""
    rng = np.random.default_rng(3)
    model = make_model([node("Gemm", ["x", "a b"], "h", transB=1, name="n one"),
                        node("Gemm", ["h", "a_b"], "y", transB=1, name="n_one")],
                       {"x": [1, 4]}, ["y"], {"a b": weights(rng, 4, 4), "a_b": weights(rng, 2, 4)})
    onnx.save(model, tmp_path / "clash.onnx")
    compiled = tinygen.compile(tmp_path / "clash.onnx", tmp_path / "out", calib="random", warn=lambda _: None)
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    assert_identical(compiled.golden(x), compiled.run(x))


def test_graph_input_names_from_the_model(tmp_path: Path) -> None:
    """Input names that are not identifiers: .npz calibration keyed by those names works."""
    graph = helper.make_graph([node("Add", ["in put/1", "in-put:2"], "sum out")], "g",
                              [helper.make_tensor_value_info("in put/1", TensorProto.FLOAT, ["N", 3]),
                               helper.make_tensor_value_info("in-put:2", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("sum out", TensorProto.FLOAT, ["N", 3])])
    path = tmp_path / "names.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    rng = np.random.default_rng(2)
    data = {"in put/1": rng.standard_normal((6, 3)).astype(np.float32),
            "in-put:2": rng.standard_normal((6, 3)).astype(np.float32)}
    np.savez(tmp_path / "calib.npz", **data)
    compiled = tinygen.compile(path, tmp_path / "out", calib=str(tmp_path / "calib.npz"))
    assert_identical(compiled.golden(data), compiled.run(data))
    assert np.abs(compiled.run(data) - (data["in put/1"] + data["in-put:2"])).max() < 0.05
