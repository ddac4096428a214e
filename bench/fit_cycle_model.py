"""Fit the compiler's cycle cost model (tinygen/plan/costs.py) to per-layer measurements.

Compiles the four MLPerf Tiny int8 QDQ models twice -- every layer in its kernel variant of least scratch,
then of most scratch (the variant rules "smallest" and "largest"), so each layer with a choice is measured
in both -- runs each `tinygen bench` firmware on qemu_m4 with the traced cycle estimate
(tinygen/platformio/cycles.py: Cortex-M4 TRM timings, zero wait states), and fits, per C kernel function,
non-negative coefficients of the features of plan/costs.py to the estimated cycles of its layers
(least squares on the relative error, features whose coefficient would be negative dropped one by one;
the channel passes' coefficient first, from the cycle differences of each layer's two variants).
Writes the coefficients to tinygen/plan/cycle_model.json (what the compiler reads) and every measured
layer to bench/cycle_measurements.json (what tests/plan/test_costs.py checks the model against), then
prints the fit's error per kernel and whether the model ranks each layer's variants as measured.

    .venv/bin/python bench/fit_cycle_model.py             # measure (about 10 minutes) and fit
    .venv/bin/python bench/fit_cycle_model.py --refit     # fit again from bench/cycle_measurements.json

Re-run it whenever kernels change: the model is only as current as its measurements.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen  # noqa: E402
from tinygen.bench import cycle_model, run  # noqa: E402
from tinygen.ops import op_of  # noqa: E402
from tinygen.plan import costs  # noqa: E402
from tinygen.platformio.envs import env_named  # noqa: E402

MODELS = REPO / "models" / "mlperf_tiny"
NAMES = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]
RULES = ("smallest", "largest")
TARGET = "qemu_m4"
CYCLE_MODEL = cycle_model(env_named(TARGET))
MEASUREMENTS = REPO / "bench" / "cycle_measurements.json"
# features by how much they explain, in general: a kernel measured on few layers gets the first ones only
# (at most one fewer than its layers, so every fit keeps a residual to be judged by)
PRIORITY = ("macs", "outputs", "channel_blocks", "inputs", "taps", "calls", "block_weights")
RANK_TOLERANCE = 0.02  # variants measured within 2 % of each other are a tie: either order is right


def measure(names: list[str], work: Path) -> list[dict]:
    """Every layer with code of each model, in each rule's variants: its kernel, features and cycles."""
    records: dict[tuple[str, str, str], dict] = {}
    for name in names:
        for rule in RULES:
            out = work / f"{name}_{rule}"
            print(f"== {name}, variants '{rule}': compiling and measuring on {TARGET}", flush=True)
            model = tinygen.compile(MODELS / name / f"{name}_int8_qdq.onnx", out, name="m", variants=rule)
            result = run(model.out_dir, TARGET, repeat=1)
            graph = model.graph
            nodes = {node.name: node for node in graph.nodes}
            keys = {layer["index"]: layer["kernel"] for layer in model.manifest["layer_list"]}
            for layer in result.layers:
                if not layer.kernel or layer.cycles is None:
                    continue
                node = nodes[layer.name]
                kernel = next(k for k in op_of(node).candidates(node, graph) if k.key == keys[layer.index])
                records.setdefault((name, layer.name, kernel.key), {
                    "model": name, "layer": layer.name, "op": layer.op, "kernel": kernel.key,
                    "function": kernel.function, "choices": len(op_of(node).candidates(node, graph)),
                    "facts": costs.facts(node, graph, kernel), "instructions": layer.instructions,
                    "cycles": layer.cycles})
    return list(records.values())


def paired_difference(rows: list[dict], features: tuple[str, ...]) -> dict[str, float]:
    """The coefficients of `features` from the layers measured in two variants that differ in them (the 8-
    and 4-pixel blocks differ in channel passes only): non-negative least squares of the cycle differences on
    the features' differences. Exact for what the planner compares -- one layer in two variants -- where a fit
    over all layers would let other features' errors leak into them. Empty without such pairs."""
    by_layer: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        by_layer[(row["model"], row["layer"])].append(row)
    pairs = [(a, b) for variants in by_layer.values() if len(variants) == 2 for a, b in [variants]
             if any(a["features"][f] != b["features"][f] for f in features)]
    if not pairs:
        return {}
    x = np.array([[a["features"][f] - b["features"][f] for f in features] for a, b in pairs], dtype=np.float64)
    y = np.array([a["cycles"] - b["cycles"] for a, b in pairs], dtype=np.float64)
    keep = list(range(len(features)))
    while keep:
        solution, *_ = np.linalg.lstsq(x[:, keep], y, rcond=None)
        if (solution >= 0).all():
            return {features[i]: float(c) for i, c in zip(keep, solution, strict=True)}
        keep.pop(int(np.argmin(solution)))
    return {f: 0.0 for f in features}


def fit(rows: list[dict], fixed: dict[str, float] | None = None) -> tuple[dict[str, float], list[float]]:
    """Non-negative coefficients minimizing the relative error, those in `fixed` given; (coefficients,
    relative errors)."""
    fixed = {f: c for f, c in (fixed or {}).items() if c > 0}
    names = [f for f in PRIORITY if f not in fixed and any(row["features"][f] for row in rows)]
    names = names[:max(1, len(rows) - 1 - sum(any(row["features"][f] for row in rows) for f in fixed))]
    x = np.array([[row["features"][f] for f in names] for row in rows], dtype=np.float64)
    y = np.array([row["cycles"] for row in rows], dtype=np.float64)
    given = np.array([sum(c * row["features"][f] for f, c in fixed.items()) for row in rows], dtype=np.float64)
    keep = list(range(len(names)))
    while True:
        weights = 1.0 / y[:, None]  # relative error: small layers count as much as large ones
        solution, *_ = np.linalg.lstsq(x[:, keep] * weights, (y - given) / y, rcond=None)
        if (solution >= 0).all() or len(keep) == 1:
            break
        keep.pop(int(np.argmin(solution)))  # the most negative coefficient's feature goes
    solution = np.maximum(solution, 0.0)
    coefficients = {names[i]: float(round(c, 6)) for i, c in zip(keep, solution, strict=True) if c > 0}
    coefficients.update({f: float(round(c, 6)) for f, c in fixed.items() if c > 0})
    predicted = x[:, keep] @ solution + given
    return coefficients, list((predicted - y) / y)


def fit_all(records: list[dict]) -> dict:
    by_function: dict[str, list[dict]] = defaultdict(list)
    for row in records:
        by_function[row["function"]].append(row)
    total_cycles = sum(row["cycles"] for row in records)
    total_instructions = sum(row["instructions"] for row in records)
    # a mode's table cost (estimated instructions) counts at the measured cycles per instruction, not fitted
    per_instruction = {"mode_cost": total_cycles / total_instructions}
    kernels = {}
    for function, rows in sorted(by_function.items()):
        coefficients, errors = fit(rows, {**paired_difference(rows, ("channel_blocks", "block_weights")),
                                          **per_instruction})
        kernels[function] = {"coefficients": coefficients, "layers": len(rows),
                             "mean_abs_error": round(float(np.mean(np.abs(errors))), 4),
                             "max_abs_error": round(float(np.max(np.abs(errors))), 4)}
    pooled = [{**row, "features": {**row["features"], "channel_blocks": 0, "block_weights": 0}} for row in records]
    coefficients, errors = fit(pooled)
    return {
        "about": "Cycle cost model of tinygen's kernels (tinygen/plan/costs.py), written by bench/fit_cycle_model.py "
                 "from bench/cycle_measurements.json; do not edit by hand, re-run the script.",
        "cycle_model": CYCLE_MODEL, "target": TARGET, "features": list(costs.FEATURES),
        "tinygen_commit": _commit(),
        "cycles_per_instruction": round(total_cycles / total_instructions, 4),
        "kernels": kernels,
        "default": {"coefficients": coefficients, "layers": len(records),
                    "mean_abs_error": round(float(np.mean(np.abs(errors))), 4)},
    }


def _commit() -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip()


def report(records: list[dict], model: dict) -> None:
    print(f"{'kernel':<32}{'layers':>7}{'mean err':>10}{'max err':>9}  coefficients")
    for function, fitted in model["kernels"].items():
        terms = ", ".join(f"{value:g} {name}" for name, value in fitted["coefficients"].items())
        print(f"{function:<32}{fitted['layers']:>7}{100 * fitted['mean_abs_error']:>9.1f}%"
              f"{100 * fitted['max_abs_error']:>8.1f}%  {terms}")
    for name in sorted({row["model"] for row in records}):
        for rule_rows in _per_model_totals(records, name):
            print(rule_rows)
    pairs, agree = ranking(records, model)
    print(f"variant ranking: {agree} of {pairs} layers with a choice ranked as measured "
          f"(ties within {100 * RANK_TOLERANCE:.0f} % count either way)")


def _per_model_totals(records: list[dict], name: str) -> list[str]:
    rows = [row for row in records if row["model"] == name]
    measured = sum(row["cycles"] for row in rows)
    predicted = sum(predict(row, None) for row in rows)
    return [f"{name}: every measured layer {measured:,} cycles, predicted {predicted:,.0f} "
            f"({100 * (predicted - measured) / measured:+.1f} %)"]


def predict(row: dict, model: dict | None) -> float:
    """The model's estimate for a measured layer (the file's model when `model` is None)."""
    model = model or costs.cycle_model()
    fitted = model["kernels"].get(row["function"], model["default"])
    return sum(value * row["features"][name] for name, value in fitted["coefficients"].items())


def ranking(records: list[dict], model: dict) -> tuple[int, int]:
    """(layers measured in two variants, of which the model orders them as measured or the measured
    cycles are within RANK_TOLERANCE)."""
    by_layer: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in records:
        by_layer[(row["model"], row["layer"])].append(row)
    pairs = agree = 0
    gaps = []
    for rows in by_layer.values():
        if len(rows) != 2:
            continue
        a, b = rows
        pairs += 1
        measured = b["cycles"] - a["cycles"]
        estimated = predict(b, model) - predict(a, model)
        tie = abs(measured) <= RANK_TOLERANCE * min(a["cycles"], b["cycles"])
        agree += tie or (measured > 0) == (estimated > 0)
        gaps.append(abs(estimated - measured) / max(a["cycles"], b["cycles"]))
    if gaps:
        print(f"variant differences: estimated within {100 * float(np.mean(gaps)):.2f} % of the layer's cycles on "
              f"average ({100 * max(gaps):.2f} % at most)")
    return pairs, agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=NAMES)
    parser.add_argument("--refit", action="store_true", help=f"fit again from {MEASUREMENTS.name}, measure nothing")
    args = parser.parse_args()
    if args.refit:
        records = json.loads(MEASUREMENTS.read_text())["layers"]
        for row in records:
            row.pop("features", None)
    else:
        with tempfile.TemporaryDirectory(prefix="tinygen-fit-") as work:
            records = measure(args.models, Path(work))
        MEASUREMENTS.write_text(json.dumps({
            "about": "Estimated cycles per layer of the MLPerf Tiny int8 QDQ models in each kernel variant, on "
                     f"{TARGET} ({CYCLE_MODEL}); written by bench/fit_cycle_model.py.",
            "tinygen_commit": _commit(), "layers": records}, indent=1) + "\n")
    for row in records:  # from the facts, so a changed definition applies on --refit too
        row["features"] = costs.features_of(row["facts"])
    model = fit_all(records)
    costs.MODEL_FILE.write_text(json.dumps(model, indent=1) + "\n")
    costs.cycle_model.cache_clear()
    report(records, model)


if __name__ == "__main__":
    main()
