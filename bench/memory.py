"""Activation memory of the four MLPerf Tiny models: tinygen's arena beside TFLM's (issue 6).

For every model and every variant that compiles (the int8 QDQ model, and the float model with
its calibration data), prints tinygen's arena (every activation byte: input, output and kernel
scratch included), the lower bound of its schedule, the plain plan (no output over an input, no
fused residual Add), what greedy-by-size alone gives on the plain plan (the planner before issue
6), the target of issue 6 and TFLM's published arena (TFLM + CMSIS-NN on Cortex-M4, which also
holds TFLM's own interpreter data); then the arena of each placement algorithm, the scheduler's
effect, and patch-based execution of VWW under a budget its whole tensors cannot meet.

    .venv/bin/python bench/memory.py [--svg DIR]   # DIR: the arena picture of every model
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen.api  # noqa: E402
from tinygen.errors import TinygenError  # noqa: E402
from tinygen.ir import Graph  # noqa: E402
from tinygen.plan import plan_memory  # noqa: E402
from tinygen.plan.algorithms import ALGORITHMS, arena_size  # noqa: E402
from tinygen.plan.liveness import analyze, lower_bound  # noqa: E402
from tinygen.plan.schedule import Schedule, schedule_nodes  # noqa: E402

MODELS = REPO / "models" / "mlperf_tiny"
TFLM_ARENA = {"kws_dscnn": 22_820, "vww_mobilenet": 100_708, "ic_resnet8": 54_996, "ad_autoencoder": 2_580}
TARGET = {"kws_dscnn": 9_000, "vww_mobilenet": 40_000, "ic_resnet8": 34_000, "ad_autoencoder": 800}
PATCH_BUDGET = 32_000  # for VWW: below its 38 KB whole-tensor plan, above its 27,648-B input
MAX_ORDERS = 20_000  # enumerate every topological order only below this many


@contextlib.contextmanager
def capture_schedule() -> Iterator[dict]:
    """Record the graph's order before the first scheduling and what the last one chose (the variant
    choice schedules the graph again after each change of variants)."""
    import tinygen.plan.driver as driver_module

    seen: dict = {}

    def recording(graph: Graph, **options: Any) -> Schedule:
        seen.setdefault("original", Graph(graph.name, dict(graph.tensors), list(graph.nodes), list(graph.inputs),
                                          list(graph.outputs)))
        seen["schedule"] = schedule = schedule_nodes(graph, **options)
        return schedule

    original = driver_module.schedule_nodes
    driver_module.schedule_nodes = recording  # type: ignore[assignment]
    try:
        yield seen
    finally:
        driver_module.schedule_nodes = original


def order_range(graph: Graph) -> tuple[int, int, int] | None:
    """(orders, smallest peak, largest peak) over every topological order, if there are few."""
    producer = {out: i for i, node in enumerate(graph.nodes) for out in node.outputs}
    deps = [{producer[name] for name in node.inputs if name in producer} for node in graph.nodes]
    peaks: list[int] = []

    def walk(order: list[int], done: set[int]) -> None:
        if len(peaks) > MAX_ORDERS:
            return
        if len(order) == len(graph.nodes):
            ordered = Graph(graph.name, graph.tensors, [graph.nodes[i] for i in order], graph.inputs, graph.outputs)
            liveness = analyze(ordered)
            peaks.append(lower_bound(liveness.buffers, liveness.overlaps))
            return
        for v in range(len(graph.nodes)):
            if v not in done and deps[v] <= done:
                walk([*order, v], done | {v})

    walk([], set())
    if len(peaks) > MAX_ORDERS:
        return None
    return len(peaks), min(peaks), max(peaks)


def variants(name: str) -> list[tuple[str, Path, str | None]]:
    folder = MODELS / name
    calib = folder / "calib.npz" if (folder / "calib.npz").exists() else folder / "samples.npz"
    return [("int8 QDQ", folder / f"{name}_int8_qdq.onnx", None), ("float", folder / f"{name}_float.onnx", str(calib))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, help="copy each model's arena picture (<model>_<variant>.svg) here")
    args = parser.parse_args()
    if args.svg:
        args.svg.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in TFLM_ARENA:
            for variant, path, calib in variants(name):
                start = time.perf_counter()
                out = Path(tmp) / f"{name}_{variant[:3]}"
                try:
                    with capture_schedule() as seen:
                        result = tinygen.api.compile_model(path, out, calib=calib)
                    plain = tinygen.api.compile_model(path, Path(tmp) / "plain", calib=calib, in_place=False,
                                                      force=True)
                except TinygenError as error:
                    print(f"{name} ({variant}): does not compile yet: {str(error).splitlines()[0]}")
                    continue
                seconds = time.perf_counter() - start
                graph = result.model.graph  # in the scheduled order
                plain_buffers = analyze(plain.model.graph, in_place=False).buffers
                rows.append((name, variant, result.summary, plain.summary, seen["schedule"],
                             order_range(seen["original"]), plain_buffers, seconds, graph))
                if args.svg:
                    picture = args.svg / f"{name}_{variant.split()[-1].lower()}.svg"
                    picture.write_bytes((out / ".tinygen" / "memory.svg").read_bytes())

        print(f"{'model':<16} {'variant':<9} {'tinygen':>8} {'bound':>8} {'plain':>8} {'greedy':>8} {'target':>8} "
              f"{'TFLM':>8} {'vs TFLM':>7}  in place / planner")
        for name, variant, summary, plain_summary, _, _, plain_buffers, _, _ in rows:
            greedy = arena_size(plain_buffers, ALGORITHMS["greedy_by_size"](plain_buffers))
            arena, tflm = summary["arena_bytes"], TFLM_ARENA[name]
            print(f"{name:<16} {variant:<9} {arena:>8,} {summary['arena_lower_bound_bytes']:>8,} "
                  f"{plain_summary['arena_bytes']:>8,} {greedy:>8,} {TARGET[name]:>8,} {tflm:>8,} "
                  f"{arena / tflm:>7.0%}  "
                  f"{len(summary['in_place'])} layer(s) / {summary['planner']}")
        print("\nPer algorithm on the final graph (bytes before rounding the arena up):")
        print(f"{'model':<16} {'variant':<9} " + " ".join(f"{a:>{max(len(a), 9)}}" for a in ALGORITHMS))
        for name, variant, *_, graph in rows:
            liveness = analyze(graph)
            sizes = [plan_memory(graph, [algorithm]).used_bytes for algorithm in ALGORITHMS]
            print(f"{name:<16} {variant:<9} " + " ".join(f"{s:>{max(len(a), 9)},}" for a, s in zip(ALGORITHMS, sizes,
                                                                                                 strict=True))
                  + f"   ({len(liveness.buffers)} buffers)")
        print("\nScheduling (peak of live bytes):")
        for name, variant, _, _, schedule, orders, _, seconds, _ in rows:
            span = (f"; {orders[0]} topological order{'s' if orders[0] != 1 else ''}, peaks {orders[1]:,} to "
                    f"{orders[2]:,} B" if orders else "; too many orders to list")
            print(f"{name:<16} {variant:<9} model's order {schedule.original_peak:,} B -> chosen {schedule.peak:,} B "
                  f"({'exact' if schedule.exact else 'heuristic'}, {schedule.states} states"
                  f"{', reordered' if schedule.changed else ', order kept'}){span}; compiled in {seconds:.2f} s")

        print(f"\nPatch-based execution: vww_mobilenet (int8 QDQ) with --ram-budget {PATCH_BUDGET:,}")
        path = MODELS / "vww_mobilenet" / "vww_mobilenet_int8_qdq.onnx"
        patched = tinygen.api.compile_model(path, Path(tmp) / "patched", ram_budget=PATCH_BUDGET).summary
        for patch in patched["patches"]:
            unpatched = patched["macs"] - patch["extra_macs"]
            print(f"  arena {patched['arena_bytes']:,} B (lower bound {patched['arena_lower_bound_bytes']:,} B): "
                  f"the first {len(patch['layers'])} layers in {patch['bands']} row bands, "
                  f"{patch['extra_macs']:,} extra MACs ({patch['macs']:,} -> {patch['patched_macs']:,} in those "
                  "layers, "
                  f"+{100 * patch['extra_macs'] / unpatched:.1f}% of the model's {unpatched:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
