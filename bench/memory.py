"""Activation memory of the four MLPerf Tiny models: tinygen's arena beside TFLM's.

For every model and every variant that compiles (the int8 QDQ model, and the float model with
its calibration data), prints tinygen's arena, the live-set lower bound of its schedule, what
greedy-by-size alone would give (the planner before issue 6), the arena of each placement
algorithm, the scheduler's effect (peak of the model's own node order -> chosen order, and the
range over every topological order when there are few), and TFLM's published arena for the
model (TFLM + CMSIS-NN on Cortex-M4, which also holds TFLM's own interpreter data).

    .venv/bin/python bench/memory.py [--svg DIR]   # DIR: one picture of the arena per model
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen.api  # noqa: E402
from tinygen.errors import TinygenError  # noqa: E402
from tinygen.ir import Graph  # noqa: E402
from tinygen.plan import plan_memory  # noqa: E402
from tinygen.plan.algorithms import ALGORITHMS, arena_size  # noqa: E402
from tinygen.plan.liveness import analyze, lower_bound  # noqa: E402
from tinygen.plan.picture import render_svg  # noqa: E402
from tinygen.plan.schedule import Schedule, schedule_nodes  # noqa: E402

MODELS = REPO / "models" / "mlperf_tiny"
TFLM_ARENA = {"kws_dscnn": 22_820, "vww_mobilenet": 100_708, "ic_resnet8": 54_996, "ad_autoencoder": 2_580}
MAX_ORDERS = 20_000  # enumerate every topological order only below this many


@contextlib.contextmanager
def capture_schedule() -> Iterator[dict]:
    """Record the graph's order before the scheduling pass and what the pass chose."""
    seen: dict = {}

    def recording(graph: Graph, **options: int) -> Schedule:
        seen["original"] = Graph(graph.name, dict(graph.tensors), list(graph.nodes), list(graph.inputs),
                                 list(graph.outputs))
        seen["schedule"] = schedule = schedule_nodes(graph, **options)
        return schedule

    original = tinygen.api.schedule_nodes
    tinygen.api.schedule_nodes = recording
    try:
        yield seen
    finally:
        tinygen.api.schedule_nodes = original


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
            peaks.append(lower_bound(analyze(ordered).buffers))
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
    parser.add_argument("--svg", type=Path, help="write <model>_<variant>.svg pictures of the arena here")
    args = parser.parse_args()
    if args.svg:
        args.svg.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in TFLM_ARENA:
            for variant, path, calib in variants(name):
                start = time.perf_counter()
                try:
                    with capture_schedule() as seen:
                        result = tinygen.api.compile_model(path, Path(tmp) / f"{name}_{variant[:3]}", calib=calib)
                except TinygenError as error:
                    print(f"{name} ({variant}): does not compile yet: {str(error).splitlines()[0]}")
                    continue
                seconds = time.perf_counter() - start
                graph = result.model.graph  # in the scheduled order
                buffers = analyze(graph).buffers
                plan = plan_memory(graph)
                schedule: Schedule = seen["schedule"]
                rows.append((name, variant, plan, schedule, order_range(seen["original"]), buffers, seconds))
                if args.svg:
                    picture = args.svg / f"{name}_{variant.split()[-1].lower()}.svg"
                    picture.write_text(render_svg(plan, graph, f"{name} ({variant})"))

    print(f"{'model':<16} {'variant':<9} {'nodes':>5} {'bufs':>4} {'tinygen':>9} {'bound':>9} {'greedy':>9} "
          f"{'TFLM':>9} {'vs TFLM':>8}  planner")
    for name, variant, plan, _, _, buffers, _ in rows:
        greedy = arena_size(buffers, ALGORITHMS["greedy_by_size"](buffers))
        tflm = TFLM_ARENA[name]
        print(f"{name:<16} {variant:<9} {plan.steps:>5} {len(buffers):>4} {plan.arena_size:>9,} "
              f"{plan.lower_bound:>9,} {greedy:>9,} {tflm:>9,} {plan.arena_size / tflm:>7.0%}  "
              f"{plan.algorithm}{' (optimal)' if plan.optimal else ''}")
    print("\nPer algorithm (bytes before rounding the arena up to 8):")
    print(f"{'model':<16} {'variant':<9} " + " ".join(f"{a:>{max(len(a), 9)}}" for a in ALGORITHMS))
    for name, variant, _, _, _, buffers, _ in rows:
        sizes = [arena_size(buffers, algorithm(buffers)) for algorithm in ALGORITHMS.values()]
        print(f"{name:<16} {variant:<9} " + " ".join(f"{s:>{max(len(a), 9)},}" for a, s in zip(ALGORITHMS, sizes,
                                                                                             strict=True)))
    print("\nScheduling (peak of live bytes):")
    for name, variant, _, schedule, orders, _, seconds in rows:
        span = (f"; {orders[0]} topological order{'s' if orders[0] != 1 else ''}, peaks {orders[1]:,} to "
                f"{orders[2]:,} B" if orders else "; too many orders to list")
        print(f"{name:<16} {variant:<9} model's order {schedule.original_peak:,} B -> chosen {schedule.peak:,} B "
              f"({'exact' if schedule.exact else 'heuristic'}, {schedule.states} states"
              f"{', reordered' if schedule.changed else ', order kept'}){span}; compiled in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
