"""`tinygen inspect MODEL.onnx`: ops, shapes, parameters and MACs before compiling, and every
unsupported node in one go -- the same list `tinygen compile` refuses the model with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import MACS, MODELS, unsupported_model


def problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("  - node ")]


def test_lists_every_unsupported_node_at_once(tinygen_cli, tmp_path: Path) -> None:
    model = unsupported_model(tmp_path / "unsupported.onnx")
    inspected = tinygen_cli("inspect", model)
    assert inspected.code == 2
    table = [line for line in inspected.out.splitlines() if "UNSUPPORTED" in line]
    assert [line.split()[1:3] for line in table] == [["LRN", "norm"], ["Sin", "sine"],
                                                     ["Hardmax", "hardmax"]]
    assert "operator Hardmax is not supported" in table[2]
    # the supported nodes are listed with their layer and figures
    conv = next(line for line in inspected.out.splitlines() if line.split()[1:3] == ["Conv", "conv"])
    assert "conv2d" in conv and "13,824" in conv and "ok" in conv
    assert "3 unsupported nodes" in inspected.err
    # exactly what compile refuses the model with
    compiled = tinygen_cli("compile", model, "-o", tmp_path / "out", "--calib", "random")
    assert compiled.code == 2
    assert problem_lines(inspected.err) == problem_lines(compiled.err)
    assert len(problem_lines(compiled.err)) == 3


@pytest.mark.parametrize("name", list(MACS))
def test_mlperf_models_are_supported_with_the_compilers_figures(tinygen_cli, name: str, tmp_path: Path) -> None:
    result = tinygen_cli("inspect", MODELS / name / f"{name}_int8_qdq.onnx", "--json", tmp_path / "inspect.json")
    assert result.code == 0, result.err
    figures = json.loads((tmp_path / "inspect.json").read_text())
    assert figures["supported"] and figures["problems"] == []
    assert figures["macs"] == MACS[name]
    assert f"MACs:       {MACS[name]:,}" in result.out
    assert "every node is supported" in result.out
    assert all(node["outputs"] and node["outputs"][0] for node in figures["nodes"])  # shapes known
    assert figures["ops"].get("QuantizeLinear", 0) > 0


def test_float_model_parameters_and_layers_match_compile(tinygen_cli, tmp_path: Path) -> None:
    model = MODELS / "kws_dscnn" / "kws_dscnn_float.onnx"
    result = tinygen_cli("inspect", model, "--json", "-")
    assert result.code == 0
    figures = json.loads(result.out)
    compiled = tinygen_cli("compile", model, "-o", tmp_path / "out", "--calib", "random")
    manifest = json.loads((tmp_path / "out" / ".tinygen" / "manifest.json").read_text())
    assert compiled.code == 0
    assert (figures["layers"], figures["params"], figures["macs"]) == (manifest["layers"], manifest["params"],
                                                                     manifest["macs"])
    conv = figures["nodes"][0]
    assert conv["op"] == "Conv" and conv["inputs"] == [[1, 1, 49, 10]] and conv["outputs"] == [[1, 64, 25, 5]]
    assert conv["layers"] == ["conv2d"] and conv["params"] == 2624
    relu = figures["nodes"][1]
    assert relu["op"] == "Relu" and relu["layers"] == [] and relu["supported"]  # fused into the conv


def test_a_broken_file_is_a_clear_error(tinygen_cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    result = tinygen_cli("inspect", broken)
    assert result.code == 2 and "error:" in result.err and "Traceback" not in result.err
