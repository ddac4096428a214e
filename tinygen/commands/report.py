"""`tinygen report OUT [--html FILE] [--json FILE] [--board ENV]`: what a compiled model costs,
layer by layer, and whether it fits a board (tinygen/report)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from ..errors import TinygenError
from .common import Context, echo_err


@click.command("report")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as one self-contained HTML page (no network needed to view it).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report's figures as JSON ('-' for standard output).")
@click.option("--board", metavar="ENV|FILE",
              help="Check that the model fits this board's RAM and flash (`tinygen boards`, or a JSON board file "
                   "with name, ram_kib, flash_kib); exit 2 if not.")
@click.option("--ram", "ram_kib", type=click.IntRange(min=1), metavar="KIB",
              help="The board's RAM in KiB (with --board: overrides its figure; alone with --flash: a custom board).")
@click.option("--flash", "flash_kib", type=click.IntRange(min=1), metavar="KIB",
              help="The board's flash in KiB (as --ram).")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Float inputs (N, ...) for the per-layer SQNR (default: the samples kept at compile time).")
@click.option("--no-sqnr", is_flag=True, help="Skip the per-layer SQNR (it runs the source model in onnxruntime).")
@click.option("--wide", is_flag=True,
              help="Print every column at full width even if wider than the terminal (a pipe always gets them).")
@click.pass_obj
def command(obj: Context, out_dir: Path, html_path: Path | None, json_path: Path | None, board: str | None,
            input_path: Path | None, no_sqnr: bool, ram_kib: int | None, flash_kib: int | None, wide: bool) -> None:
    """Per-layer report of a compiled model: ops, shapes, MACs, parameters, constant bytes, arena
    placement, quantization parameters and the int8-vs-float SQNR of every layer; instructions
    per layer where `tinygen bench` or `tinygen flash -e qemu_*` measured them; flash and RAM per
    target; the bytes live per step.

    On a terminal the tables fit its width (long names and notes wrap; the scale and zero-point,
    constant-byte, input-shape and parameter columns go first when needed; --wide keeps them all),
    and SQNR below 20 dB is red, below 30 dB yellow. MACs: convolutions, fully connected layers and
    matrix products count their multiply-accumulates; pooling and mean/sum reductions one per window
    element per output value (an average's additions, a max's comparisons: the count the MLTK
    profiler gives TFLite's MAX_POOL_2D); elementwise ops, activations and copies none.

    \b
    Example:
      tinygen report out/ --html report.html --json report.json
      tinygen report out/ --board nucleo_f446re
    """
    from ..platformio.envs import fit_target
    from ..reporting import build_report
    from ..reporting.text import report_lines

    target = fit_target(board, ram_kib, flash_kib)
    report = build_report(out_dir, input_path=input_path, board=target, accuracy=not no_sqnr)
    if json_path is not None:
        figures = {key: value for key, value in report.items() if key != "arena_svg"}
        text = json.dumps(figures, indent=1) + "\n"
        if str(json_path) == "-":
            click.echo(text, nl=False)
        else:
            json_path.write_text(text)
    if html_path is not None:
        from ..reporting.html import render_html

        html_path.write_text(render_html(report))
    if str(json_path) != "-":
        terminal = sys.stdout.isatty()
        width = None if wide or not terminal else shutil.get_terminal_size().columns
        for line in report_lines(report, width, colour=terminal and "NO_COLOR" not in os.environ):
            obj.info(line)
    for path in (html_path, json_path):
        if path is not None and str(path) != "-":
            obj.info(f"wrote {path}")
    if "board" in report and not report["board"]["fits"]:
        if obj.quiet or str(json_path) == "-":
            echo_err(report["board"]["verdict"])
        raise TinygenError(f"the model does not fit {report['board']['env']} (see above; the report was written)")
