"""The cycle cost model (plan/costs.py) against the per-layer measurements it was fitted to
(bench/cycle_measurements.json, written with tinygen/plan/cycle_model.json by bench/fit_cycle_model.py):
it ranks every MLPerf layer's kernel variants as measured, agrees with the measured cycles within the
stated tolerances, and the compiler's choices follow it. Kernels change (re-run the fit then), so the tests
check rankings and agreement, never figures; the slow test measures the AD autoencoder afresh on qemu_m4."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

import tinygen
from tinygen.ops import op_of
from tinygen.plan import costs

from ..conftest import REPO, model_file

MEASUREMENTS = REPO / "bench" / "cycle_measurements.json"
RANK_TOLERANCE = 0.02  # variants measured within 2 % of each other are a tie: either order is right
MODEL_TOLERANCE = 0.05  # the model's estimate of a whole model's measured layers
LAYER_TOLERANCE = 0.10  # mean relative error over the layers of a kernel measured on more than 3 layers


def _measured() -> list[dict]:
    return list(json.loads(MEASUREMENTS.read_text())["layers"])


def _predict(row: dict) -> float:
    model = costs.cycle_model()
    fitted = model["kernels"].get(row["function"], model["default"])
    values = costs.features_of(row["facts"])
    return sum(value * values[name] for name, value in fitted["coefficients"].items())


def test_the_model_ranks_each_layers_variants_as_measured() -> None:
    by_layer: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in _measured():
        by_layer[(row["model"], row["layer"])].append(row)
    pairs = [rows for rows in by_layer.values() if len(rows) == 2]
    assert len(pairs) >= 30  # conv 1x1 / im2col in 8- and 4-pixel blocks, AD's wide and direct layers
    wrong = []
    for a, b in pairs:
        measured, estimated = b["cycles"] - a["cycles"], _predict(b) - _predict(a)
        if abs(measured) > RANK_TOLERANCE * min(a["cycles"], b["cycles"]) and (measured > 0) != (estimated > 0):
            wrong.append(f"{a['model']} {a['layer']}: {a['kernel']} {a['cycles']:,} vs {b['kernel']} {b['cycles']:,} "
                         f"measured, {_predict(a):,.0f} vs {_predict(b):,.0f} estimated")
    assert not wrong, "\n".join(wrong)


def test_the_model_agrees_with_the_measurements() -> None:
    rows = _measured()
    for name in sorted({row["model"] for row in rows}):
        mine = [row for row in rows if row["model"] == name]
        measured, estimated = sum(row["cycles"] for row in mine), sum(_predict(row) for row in mine)
        print(f"\n{name}: measured {measured:,} cycles over {len(mine)} layer variants, estimated {estimated:,.0f} "
              f"({100 * (estimated - measured) / measured:+.1f} %)")
        assert abs(estimated - measured) <= MODEL_TOLERANCE * measured, name
    by_function: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_function[row["function"]].append(abs(_predict(row) - row["cycles"]) / row["cycles"])
    for function, errors in by_function.items():
        if len(errors) > 3:
            mean = sum(errors) / len(errors)
            assert mean <= LAYER_TOLERANCE, f"{function}: mean error {mean:.1%}"


def test_the_compiler_computes_the_facts_the_model_was_fitted_on(tmp_path: Path) -> None:
    """The measured layers are the compiler's layers: compiling KWS gives each layer with a choice of kernels
    (what the model ranks) the recorded facts."""
    compiled = tinygen.compile(model_file("kws_dscnn", "int8_qdq"), tmp_path / "kws", name="m", variants="largest")
    graph = compiled.graph
    recorded = {(row["layer"], row["kernel"]): row["facts"] for row in _measured() if row["model"] == "kws_dscnn"}
    checked = 0
    for node in graph.nodes:
        kernel = op_of(node).kernel(node, graph)
        if kernel is not None and (node.name, kernel.key) in recorded and len(op_of(node).candidates(node, graph)) > 1:
            assert costs.facts(node, graph, kernel) == pytest.approx(recorded[(node.name, kernel.key)]), node.name
            checked += 1
    assert checked >= 5


def test_variants_are_chosen_by_estimated_cycles(tmp_path: Path) -> None:
    """The AD autoencoder's widened-input layers run fewer instructions but more cycles than the direct ones
    (measured); with TFLM's arena as the budget the scratch would fit, and the compiler still keeps the direct
    kernel, as the measurements rank them."""
    rows = [row for row in _measured() if row["model"] == "ad_autoencoder"]
    wide = {row["layer"]: row for row in rows if row["function"] == "tg_fully_connected_wide_s8"}
    direct = {row["layer"]: row for row in rows if row["function"] == "tg_fully_connected_direct_s8"}
    both = sorted(set(wide) & set(direct))
    assert both
    measured_faster = {layer: "direct" if direct[layer]["cycles"] < wide[layer]["cycles"] else "wide"
                       for layer in both}
    compiled = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "ad", name="m", ram_budget=2580)
    chosen = {layer["name"]: layer["kernel"] for layer in compiled.manifest["layer_list"]}
    for layer in both:
        assert chosen[layer] == f"tg_fully_connected_{measured_faster[layer]}_s8", layer
    assert compiled.manifest["arena_bytes"] <= 2580


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="arm-none-eabi-gcc and qemu-system-arm are installed by `make setup`")
def test_the_ranking_holds_on_a_fresh_measurement(tmp_path: Path) -> None:
    """Measure the AD autoencoder in both variants now (kernels may have changed since the fit) and check
    the model's ranking of every layer's variants against it."""
    from tinygen.bench import run

    cycles: dict[str, dict[str, int]] = defaultdict(dict)
    estimates: dict[str, dict[str, float]] = defaultdict(dict)
    for rule in ("smallest", "largest"):
        compiled = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / rule, name="m", variants=rule)
        graph = compiled.graph
        nodes = {node.name: node for node in graph.nodes}
        for layer in run(compiled.out_dir, "qemu_m4", repeat=1).layers:
            if layer.kernel and layer.cycles:
                node = nodes[layer.name]
                kernel = op_of(node).kernel(node, graph)
                assert kernel is not None
                cycles[layer.name][kernel.key] = layer.cycles
                estimates[layer.name][kernel.key] = costs.layer_cycles(node, graph, kernel)
    compared = 0
    for name, measured in cycles.items():
        if len(measured) == 2:
            (a, ca), (b, cb) = measured.items()
            if abs(ca - cb) > RANK_TOLERANCE * min(ca, cb):
                assert (ca < cb) == (estimates[name][a] < estimates[name][b]), (name, measured, estimates[name])
            compared += 1
    assert compared >= 8
