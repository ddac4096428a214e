"""`tinygen report` of every MLPerf Tiny model (QDQ and float forms): the table is printed, the
JSON's per-layer MACs sum to the model's published MACs, and the JSON carries the figures issue 6
asks for (arena, lower bound, weights, MACs, per-layer placement) and the live set per step."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import MACS

CASES = [f"{name}_{form}" for name in MACS for form in ("qdq", "float")]


@pytest.fixture(scope="module")
def reports(mlperf: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """case -> {'code', 'out', 'json', 'html'}: `tinygen report OUT --json --html` of every case."""
    import contextlib
    import io

    from tinygen.cli import main

    root = tmp_path_factory.mktemp("reports")
    results = {}
    for case, out_dir in mlperf.items():
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = main(["report", str(out_dir), "--json", str(root / f"{case}.json"),
                         "--html", str(root / f"{case}.html")])
        results[case] = {"code": code, "out": stdout.getvalue(),
                         "json": json.loads((root / f"{case}.json").read_text()),
                         "html": (root / f"{case}.html").read_text()}
    return results


@pytest.mark.parametrize("case", CASES)
def test_layer_macs_sum_to_the_models_macs(reports: dict, case: str) -> None:
    report = reports[case]
    assert report["code"] == 0, report["out"]
    name = case.rsplit("_", 1)[0]
    figures = report["json"]
    assert sum(layer["macs"] for layer in figures["layers"]) == MACS[name] == figures["macs"]


@pytest.mark.parametrize("case", CASES)
def test_json_has_the_memory_figures_and_layer_placement(reports: dict, mlperf: dict, case: str) -> None:
    figures = reports[case]["json"]
    manifest = json.loads((mlperf[case] / ".tinygen" / "manifest.json").read_text())
    for key in ("arena_bytes", "arena_lower_bound_bytes", "weights_bytes", "macs"):
        assert figures[key] == manifest[key], key
    assert figures["arena_lower_bound_bytes"] <= figures["arena_bytes"]
    assert len(figures["layers"]) == len(manifest["layer_list"])
    for layer, listed in zip(figures["layers"], manifest["layer_list"], strict=True):
        for key in ("name", "op", "macs", "arena_offset", "arena_size"):
            assert layer[key] == listed[key], (layer["index"], key)
        assert layer["output"]["shape"] and layer["output"]["scale"] > 0
        assert layer["arena_offset"] + layer["arena_size"] <= figures["arena_bytes"] or layer["alias"]
    # per-layer figures add up to the model's
    assert sum(layer["params"] for layer in figures["layers"]) == manifest["params"]
    assert sum(layer["weights_bytes"] for layer in figures["layers"]) == manifest["weights_bytes"]
    assert sum(layer["constants_bytes"] for layer in figures["layers"]) == manifest["constants_bytes"]
    # the live set per step: its peak is the lower bound, every step within the arena
    steps = figures["live_steps"]
    assert steps[0]["step"] == -1 and len(steps) == len(figures["layers"]) + 2
    assert max(step["live_bytes"] for step in steps) == figures["arena_lower_bound_bytes"]
    for step in steps:
        # live_bytes leaves out what an in-place output shares with the input it overwrites
        assert sum(b["size"] for b in step["buffers"]) - step["shared_bytes"] == step["live_bytes"]
        assert all(b["offset"] + b["size"] <= figures["arena_bytes"] for b in step["buffers"])
    assert "arena_svg" not in figures


@pytest.mark.parametrize("case", CASES)
def test_layer_sqnr(reports: dict, case: str) -> None:
    """Every layer of the float models has an SQNR against onnxruntime; QDQ models at least on
    their output (tinygen's own output tensor maps to the ONNX output's name)."""
    figures = reports[case]["json"]
    values = [layer["sqnr_db"] for layer in figures["layers"]]
    assert figures["accuracy"]["samples"] > 0
    if case.endswith("_float"):
        assert "float model" in figures["accuracy"]["reference"]
        assert all(v is not None and v > 10 for v in values), values
    else:
        assert "QDQ model" in figures["accuracy"]["reference"]
        assert values[-1] is not None and values[-1] > 10, values
        assert sum(v is not None for v in values) >= len(values) - 1, values


@pytest.mark.parametrize("case", ["kws_dscnn_float", "ic_resnet8_qdq"])
def test_terminal_table(reports: dict, case: str) -> None:
    out = reports[case]["out"]
    figures = reports[case]["json"]
    lines = out.splitlines()
    header = next(line for line in lines if " MACs " in line and " op " in line)
    assert "arena @off+size" in header and "SQNR dB" in header and "out scale,zp" in header
    start = lines.index(header)
    end = next(i for i in range(start, len(lines)) if lines[i].split()[:1] == ["total"])
    rows = [row for row in lines[start + 1:end] if row.strip() and not row.startswith("─")]  # no rule, no gap
    assert [row.split()[:2] for row in rows] == [[str(layer["index"]), layer["op"]] for layer in figures["layers"]]
    assert f"{figures['macs']:,}" in lines[end]
    assert "flash and RAM of the model per target" in out and "nucleo_f446re" in out
    assert "bytes live per step" in out
    assert [line.split()[0] for line in lines[-2:]] == ["wrote", "wrote"]  # the files written


def test_targets_are_estimated_without_a_build(reports: dict) -> None:
    figures = reports["kws_dscnn_qdq"]["json"]
    targets = {t["env"]: t for t in figures["targets"]}
    assert "host" not in targets
    nucleo = targets["nucleo_f446re"]
    assert nucleo["board_ram_bytes"] == 128 * 1024 and nucleo["board_flash_bytes"] == 512 * 1024
    assert not nucleo["measured"] and nucleo["fits"]
    assert nucleo["ram_bytes"] == figures["arena_bytes"]
    assert nucleo["flash_bytes"] > figures["constants_bytes"]
    assert any("estimate" in part for part in nucleo["flash_parts"])


def test_memory_svg_is_written_at_compile_time(mlperf: dict) -> None:
    for out_dir in mlperf.values():
        root = ET.fromstring((out_dir / ".tinygen" / "memory.svg").read_text())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        manifest = json.loads((out_dir / ".tinygen" / "manifest.json").read_text())
        assert f"{manifest['arena_bytes']:,} B arena" in (root.find("{http://www.w3.org/2000/svg}title").text or "")


def test_a_graph_built_in_python_reports_without_sqnr(mlperf: dict, tinygen_cli, tmp_path: Path) -> None:
    """write_compiled() of a graph built in Python keeps no source model: the SQNR is n/a, the rest is there."""
    import tinygen
    from tinygen.api import write_compiled

    graph = tinygen.load(mlperf["ad_autoencoder_qdq"]).graph
    write_compiled(graph, tmp_path / "built", "built")
    result = tinygen_cli("report", tmp_path / "built", "--json", tmp_path / "r.json")
    assert result.code == 0, result.err
    figures = json.loads((tmp_path / "r.json").read_text())
    assert figures["macs"] == 264_192
    assert all(layer["sqnr_db"] is None and "no source model" in layer["sqnr_note"] for layer in figures["layers"])
    assert "SQNR n/a: no source model" in result.out
