"""Measured results in the output folder (OUT/.tinygen/bench/<env>.json, tinygen/reporting/results.py):
`tinygen flash -e qemu_*` keeps the harness's instruction counts there, `tinygen report` shows
them per layer, and a PlatformIO build turns the estimated flash/RAM of its env into measured
figures."""

from __future__ import annotations

import json
from pathlib import Path

import tinygen
from tinygen.reporting.results import bench_file, load_bench_results, save_bench_result

from .conftest import MODELS


def test_report_reads_a_bench_result(tinygen_cli, tmp_path: Path) -> None:
    out = tmp_path / "ad"
    model = tinygen.compile(MODELS / "ad_autoencoder" / "ad_autoencoder_int8_qdq.onnx", out)
    layers = [{"name": layer["name"], "op": layer["op"], "macs": layer["macs"], "instructions": 1000 + i}
              for i, layer in enumerate(model.manifest["layer_list"])]
    result = {"target": "qemu_m7", "instructions": 123_456, "macs": model.manifest["macs"],
              "arena_bytes": model.manifest["arena_bytes"], "flash_bytes": None, "ram_bytes": None, "layers": layers}
    path = save_bench_result(out, result)
    assert path == bench_file(out, "qemu_m7") == out / ".tinygen" / "bench" / "qemu_m7.json"
    assert load_bench_results(out) == {"qemu_m7": result}
    report = tinygen_cli("report", out, "--no-sqnr", "--json", tmp_path / "r.json")
    assert report.code == 0
    figures = json.loads((tmp_path / "r.json").read_text())
    assert [layer["instructions"] for layer in figures["layers"]] == [{"qemu_m7": 1000 + i} for i in range(10)]
    assert figures["benchmarks"]["qemu_m7"]["instructions"] == 123_456
    header = next(line for line in report.out.splitlines() if "SQNR dB" in line)
    assert "instr qemu_m7" in header
    assert "123,456" in next(line for line in report.out.splitlines() if line.split()[:1] == ["total"])
    # recompiling replaces the folder: no stale result survives
    tinygen.compile(MODELS / "ad_autoencoder" / "ad_autoencoder_int8_qdq.onnx", out)
    assert load_bench_results(out) == {}


def test_flash_on_qemu_keeps_instructions_per_layer_for_the_report(pio_core: Path, tinygen_cli,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "kws"
    tinygen.compile(MODELS / "kws_dscnn" / "kws_dscnn_int8_qdq.onnx", out)
    # a build reports its progress (compile and link steps) to whoever listens
    from tinygen import progress
    from tinygen.platformio import firmware
    from tinygen.platformio.envs import env_named

    from .test_cli_guidance import Recorder

    recorder = Recorder()
    with progress.reporting(recorder):
        assert firmware.build(out, [env_named("qemu_m4")]).ok
    ((label, total, done),) = recorder.tasks
    assert label == "pio run -e qemu_m4" and done == total > 10
    flashed = tinygen_cli("flash", out, "-e", "qemu_m4")
    assert flashed.code == 0, flashed.out + flashed.err
    kept = json.loads(bench_file(out, "qemu_m4").read_text())
    assert kept["target"] == "qemu_m4" and kept["instructions"] > 0
    assert f"{kept['instructions']:,} instructions per inference" in flashed.out
    report = tinygen_cli("report", out, "--no-sqnr", "--json", tmp_path / "r.json")
    assert report.code == 0
    figures = json.loads((tmp_path / "r.json").read_text())
    counts = [layer["instructions"]["qemu_m4"] for layer in figures["layers"]]
    assert all(isinstance(c, int) for c in counts)
    assert counts[[layer["op"] for layer in figures["layers"]].index("reshape")] == 0  # an alias: no code
    assert sum(counts) <= kept["instructions"]  # the rest is the harness's copying in and out
    # the build flash made turns qemu_m4's estimate into a measurement
    target = next(t for t in figures["targets"] if t["env"] == "qemu_m4")
    assert target["measured"] and target["ram_bytes"] == figures["arena_bytes"]
    assert set(target["flash_parts"]) == {"model", "kernels"}
    assert target["firmware"]["flash"]["model"] == target["flash_parts"]["model"] > figures["constants_bytes"]
    assert not next(t for t in figures["targets"] if t["env"] == "qemu_m7")["measured"]
