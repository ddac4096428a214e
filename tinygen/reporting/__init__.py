"""`tinygen report`: what a compiled model costs, layer by layer, and whether it fits a board.

build_report() gathers, from an output folder: the per-layer table (layers.py), the per-layer
int8-vs-float SQNR (accuracy.py), instruction counts measured by `tinygen bench` / `tinygen flash`
(results.py), flash and RAM per target (targets.py), the live set per step and the arena picture
(tinygen/plan). text.py prints it for the terminal, html.py writes one self-contained page; the
JSON is the dict itself. The Python API's tinygen.report(out_dir, ...) -> Report (tinygen/api.py) calls
make_report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import CompiledModel
from ..plan import plan_memory
from ..plan.picture import legend, render_svg
from ..plan.planner import stored_plan
from ..platformio.envs import Env, fit_target
from ..verification import Inputs
from ..version import __version__
from .accuracy import layer_sqnr
from .layers import layer_rows, live_steps
from .precision import precision_summary
from .results import load_bench_results
from .targets import fit_advice, fit_line, footprint, footprints

MEMORY_SVG = ".tinygen/memory.svg"  # the arena picture, written at compile time


@dataclass
class Report:
    """What `tinygen report` shows, from Python: `figures` is the report's dict (the JSON plus the arena
    picture as SVG text); `lines()` the terminal text, `html()` the one-page HTML, `to_json()` the JSON."""

    figures: dict[str, Any]

    @property
    def fits(self) -> bool | None:
        """Whether the model fits the board asked for (None: no board given)."""
        board = self.figures.get("board")
        return None if board is None else bool(board["fits"])

    def lines(self, width: int | None = None) -> list[str]:
        """The report as text, its tables `width` columns wide at most (None: as wide as they need)."""
        from .text import report_lines

        return report_lines(self.figures, width)

    def html(self) -> str:
        from .html import render_html

        return render_html(self.figures)

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.figures.items() if key != "arena_svg"}


def make_report(out_dir: str | Path, *, inputs: Inputs = None, board: str | None = None, ram_kib: int | None = None,
                flash_kib: int | None = None, sqnr: bool = True) -> Report:
    """tinygen.report() (tinygen/api.py documents it)."""
    target = fit_target(board, ram_kib, flash_kib)
    return Report(build_report(out_dir, input_path=inputs, board=target, accuracy=sqnr))


def build_report(out_dir: str | Path, *, input_path: Inputs = None, board: Env | None = None,
                 accuracy: bool = True) -> dict[str, Any]:
    model = CompiledModel(out_dir)
    manifest = model.manifest
    graph = model.graph
    plan = stored_plan(graph, manifest["plan"]) if "plan" in manifest else plan_memory(graph)
    layers = layer_rows(graph, manifest, plan)
    sqnr = layer_sqnr(model, input_path) if accuracy else None
    bench = load_bench_results(model.out_dir)
    for row in layers:
        row["sqnr_db"] = row["sqnr_note"] = None
        if sqnr is not None:
            row["sqnr_db"] = sqnr["layers"][row["index"]]["sqnr_db"]
            row["sqnr_note"] = sqnr["layers"][row["index"]]["note"]
        row["instructions"] = {target: layer_instructions(result, row) for target, result in bench.items()}
    svg_file = model.out_dir / MEMORY_SVG
    picture = svg_file.read_text() if svg_file.exists() else render_svg(plan, graph, manifest["name"])
    report: dict[str, Any] = {
        "tinygen_version": __version__,
        "name": manifest["name"],
        "model_file": manifest["model_file"],
        "out_dir": str(model.out_dir),
        "inputs": manifest["inputs"],
        "outputs": manifest["outputs"],
        "macs": manifest["macs"],
        "moved_bytes": manifest.get("moved_bytes", 0),
        "params": manifest["params"],
        "weights_bytes": manifest["weights_bytes"],
        "constants_bytes": manifest["constants_bytes"],
        "arena_bytes": manifest["arena_bytes"],
        "arena_lower_bound_bytes": manifest["arena_lower_bound_bytes"],
        "stack": manifest.get("stack"),  # worst-case call stack on Cortex-M4 (tinygen/stack.py)
        "planner": manifest["planner"],
        "in_place": manifest.get("in_place", []),
        "variants": manifest.get("variants", []),
        "patches": manifest.get("patches", []),
        "calibration": manifest.get("calibration"),
        "accuracy": None if sqnr is None else {k: v for k, v in sqnr.items() if k != "layers"},
        "layers": layers,
        "precision": precision_summary(layers, manifest.get("calibration") or {}),
        "live_steps": live_steps(graph, plan),
        "targets": [fp.to_json() for fp in footprints(model.out_dir, manifest)],
        "benchmarks": {target: {k: v for k, v in result.items() if k != "layers"}
                       for target, result in bench.items()},
        "arena_buffers": legend(plan),  # the picture's buffers by number (its legend)
        "arena_svg": picture,
    }
    if board is not None:
        fp = footprint(model.out_dir, manifest, board, measure_stack=True)
        report["board"] = {**fp.to_json(), "verdict": fit_line(fp),
                           "advice": [] if fp.fits else fit_advice(fp, manifest, layers)}
    return report


def layer_instructions(result: dict[str, Any], row: dict[str, Any]) -> int | None:
    """A layer's instruction count in a bench result: by position when the names agree, else by name."""
    measured = result.get("layers") or []
    index = row["index"]
    if index < len(measured) and measured[index].get("name") == row["name"]:
        return measured[index].get("instructions")
    by_name = [m for m in measured if m.get("name") == row["name"]]
    return by_name[0].get("instructions") if len(by_name) == 1 else None
