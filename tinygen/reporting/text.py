"""The report as terminal text: a summary, the per-layer table, flash/RAM per target, the live
bytes per step; and the short form `tinygen compile` prints."""

from __future__ import annotations

import io
import textwrap
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .calibration import calibration_summary
from .precision import precision_lines, precision_text, precision_total
from .targets import kib

BAR_WIDTH = 40
NAME_WIDTHS = (28, 20, 12)  # a layer name's characters on a terminal (all of them with --wide, --json, --html)
NOTES_WIDTH = 16  # the narrowest the notes column gets on a terminal (it wraps)
FULL_WIDTH = 1000  # "as wide as it needs": no table here comes near it


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def dims(shape: list[int]) -> str:
    """A physical shape without its batch axis: [1, 25, 5, 64] -> 25x5x64. A leading axis other than 1 is
    not a batch (a time-major sequence [50, 1, 6] before an LSTM / GRU) and stays: 50x1x6."""
    return "x".join(str(d) for d in (shape[1:] if len(shape) > 1 and shape[0] == 1 else shape))


def quant(entry: dict[str, Any]) -> str:
    if entry.get("scale") is None:
        return "-"
    return f"{entry['scale']:.4g},{entry['zero_point']}"


def sqnr_text(row: dict[str, Any]) -> str:
    if row.get("sqnr_db") is not None:
        return f"{row['sqnr_db']:.1f}"
    note = row.get("sqnr_note")
    return "exact" if note == "identical" else "n/a" if note else "-"


def count_text(count: int | None) -> str:
    return "-" if count is None else f"{count:,}"


def constants_note(weights_bytes: int, constants_bytes: int) -> str:
    """Why the constants can be fewer bytes than the weights: dead channels are not stored."""
    if constants_bytes >= weights_bytes:
        return ""
    return (f"; the constants are {weights_bytes - constants_bytes:,} B fewer than the weights because output "
            "channels whose int8 weights are all zero (dead channels) store no weights, only a row index")


def constants_text(report: dict[str, Any]) -> str:
    """What "weights" and "all constants" count, and why they differ for this model."""
    weights, constants = report["weights_bytes"], report["constants_bytes"]
    text = (f"weights {weights:,} B are the layers' int8 weights and int32 biases as the model holds them; all "
            f"constants {constants:,} B are every array the C keeps in flash: those weights in the kernels' layout, "
            "the biases, the per-channel requantization multipliers and shifts, lookup tables")
    if constants < weights:
        return text + "; " + constants_note(weights, constants)[2:]
    return text + f" ({constants - weights:,} B more than the weights)"


def summary_line(report: dict[str, Any]) -> str:
    return (f"{report['name']} ({report['model_file']}): {len(report['layers'])} layers, {report['macs']:,} MACs, "
            f"{report['params']:,} parameters, constants {report['constants_bytes']:,} B (weights "
            f"{report['weights_bytes']:,} B), arena {report['arena_bytes']:,} B (lower bound "
            f"{report['arena_lower_bound_bytes']:,} B, {report['planner']})"
            + (f", data movement {report['moved_bytes']:,} B copied" if report.get("moved_bytes") else "")
            + (f", stack {report['stack']['model_bytes']:,} B worst case on {report['stack']['cpu']}"
               if report.get("stack") else "")
            + constants_note(report["weights_bytes"], report["constants_bytes"]))


def notes_text(row: dict[str, Any]) -> str:
    """In place (over which input, how far below), the kernel variant when not the fastest, the band."""
    notes = [row["macs_note"]] if row.get("macs_note") else []
    if row.get("moved_bytes"):
        notes.append(f"copies {row['moved_bytes']:,} B")
    for entry in row.get("in_place") or []:
        where = "same place" if entry["delta"] == 0 else f"{entry['delta']:,} B below"
        notes.append(f"{'stage output over its input' if entry.get('stage') else 'in place'} ({where})")
    if row.get("precision"):
        notes.append(precision_text(row["precision"]))
    variant = row.get("variant")
    if variant and variant["name"] != variant["fastest"]:
        notes.append(f"{variant['name']} (+{variant['extra_cycles']:,} cycles est.)")
    if row.get("patch"):
        notes.append(f"band {row['patch']['band'] + 1}/{row['patch']['bands']}")
    return "; ".join(notes)


# How MACs are counted (the report's caption and `tinygen report --help`).
MACS_RULE = ("multiply-accumulates of convolutions, fully connected layers, matrix products, recurrences, layer "
             "norms and resizes; pooling and mean/sum reductions count one per window element per output value "
             "(the additions of an average, the comparisons of a max; the count Silicon Labs' MLTK profiler "
             "gives TFLite's MAX_POOL_2D); "
             "elementwise ops, activations and copies count none")
LOW_SQNR_DB = 20.0  # a layer's SQNR below this is shown red (text and HTML), below LOW_SQNR_DB + 10 yellow
# Columns of the layer table a narrow terminal drops first (last listed, first dropped); --wide keeps all.
OPTIONAL_COLUMNS = ("output", "arena @off+size", "params", "input", "const B", "in scale,zp", "out scale,zp")


def sqnr_colour(row: dict[str, Any]) -> str:
    """'red', 'yellow' or '' for a layer's SQNR: the same thresholds as the captions state."""
    value = row.get("sqnr_db")
    if value is None:
        return ""
    return "red" if value < LOW_SQNR_DB else "yellow" if value < LOW_SQNR_DB + 10 else ""


def sqnr_caption() -> str:
    return (f"SQNR below {LOW_SQNR_DB:.0f} dB is shown red, below {LOW_SQNR_DB + 10:.0f} dB yellow (on a colour "
            "terminal; higher is better)")


def layer_table(report: dict[str, Any], drop: tuple[str, ...] = (), name_width: int | None = None
                ) -> tuple[Table, int]:
    """The per-layer table as a rich Table, and the fewest columns it needs; `drop`: names of
    OPTIONAL_COLUMNS left out; `name_width`: long layer names end in "…" there (None: whole names)."""
    targets = sorted(report.get("benchmarks", {}))
    # SIMPLE_HEAD: a rule under the header and none between columns; each gap between columns is
    # 2 characters (one padding space, collapsed, and the box's blank divider), no edge columns.
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, show_edge=False, pad_edge=False, padding=(0, 1),
                  collapse_padding=True)
    number = {"justify": "right", "no_wrap": True}
    columns: list[tuple[str, dict[str, Any], Any, str]] = [
        ("#", number, lambda row: str(row["index"]), ""),
        ("op", number | {"justify": "left"}, lambda row: row["op"], "total"),
        ("name", {"no_wrap": True, "overflow": "ellipsis", **({"max_width": name_width} if name_width else {})},
         lambda row: row["name"], ""),
        ("input", number, lambda row: dims(row["inputs"][0]["shape"]) if row["inputs"] else "-", ""),
        ("output", number, lambda row: dims(row["output"]["shape"]), ""),
        ("MACs", number, lambda row: f"{row['macs']:,}", f"{report['macs']:,}"),
        ("params", number, lambda row: f"{row['params']:,}", f"{report['params']:,}"),
        ("const B", number, lambda row: f"{row['constants_bytes']:,}", f"{report['constants_bytes']:,}"),
        ("arena @off+size", number,
         lambda row: "alias" if row["alias"] else f"{row['arena_offset']:,}+{row['arena_size']:,}",
         f"{report['arena_bytes']:,} B"),
        ("in scale,zp", number, lambda row: quant(row["inputs"][0]) if row["inputs"] else "-", ""),
        ("out scale,zp", number, lambda row: quant(row["output"]), ""),
        ("SQNR dB", number, lambda row: Text(sqnr_text(row), style=sqnr_colour(row)), ""),
        *((f"instr {t}", number, lambda row, t=t: count_text(row["instructions"].get(t)),
           f"{report['benchmarks'][t]['instructions']:,}") for t in targets),
        ("notes", {"overflow": "fold", "min_width": NOTES_WIDTH}, notes_text, ""),
    ]
    needed = 0
    for header, options, cell, footer in [c for c in columns if c[0] not in drop]:
        if header == "notes":
            width = NOTES_WIDTH  # wraps within its column
        else:  # never cut: as wide as the widest cell (a name: up to NAME_WIDTH when narrow)
            width = max([len(header), len(footer)] + [_cell_len(cell(row)) for row in report["layers"]])
            width = min(width, name_width) if header == "name" and name_width else width
            options = options | {"min_width": width}
        needed += width + (2 if needed else 0)
        table.add_column(header, footer=footer, **options)
    for row in report["layers"]:
        table.add_row(*(cell(row) for header, _, cell, _ in columns if header not in drop))
    return table, needed


def render(renderable: Any, width: int | None, colour: bool = False) -> list[str]:
    """`renderable` as text lines, `width` columns at most (None: as wide as it needs), with ANSI
    colours only when `colour`."""
    console = Console(file=io.StringIO(), width=width or FULL_WIDTH, force_terminal=colour,
                      color_system="standard" if colour else None, highlight=False, emoji=False, soft_wrap=False)
    console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def _cell_len(value: str | Text) -> int:
    return value.cell_len if isinstance(value, Text) else Text(value).cell_len


def fitted_layer_table(report: dict[str, Any], width: int | None) -> tuple[Table, list[str]]:
    """The layer table that fits `width` columns: long names end in "…" and the notes wrap inside
    their cells; when that is not enough the OPTIONAL_COLUMNS go, last first, and the names get
    shorter. Returns it and the columns left out."""
    if width is None:
        return layer_table(report)[0], []
    table = None
    for count in range(len(OPTIONAL_COLUMNS) + 1):
        dropped = list(reversed(OPTIONAL_COLUMNS))[:count]
        for name_width in NAME_WIDTHS if count == len(OPTIONAL_COLUMNS) else NAME_WIDTHS[:2]:
            table, needed = layer_table(report, tuple(dropped), name_width)
            if needed <= width:
                return table, dropped
    assert table is not None
    return table, dropped  # narrower than the narrowest layout: rich squeezes what is left


def target_table(report: dict[str, Any]) -> list[str]:
    lines = ["flash and RAM of the model per target (model + kernels; without the application, C library and "
             "stack; measured where OUT has a build, else estimated):",
             f"  {'env':<15}{'RAM KiB':>9}{'of':>8}{'flash KiB':>11}{'of':>8}  {'fits':<5}figures"]
    for target in report["targets"]:
        lines.append(f"  {target['env']:<15}{kib(target['ram_bytes']):>9}{kib(target['board_ram_bytes']):>8}"
                     f"{kib(target['flash_bytes']):>11}{kib(target['board_flash_bytes']):>8}  "
                     f"{'yes' if target['fits'] else 'NO':<5}{'measured' if target['measured'] else 'estimated'}")
    return lines


def live_chart(report: dict[str, Any], width: int | None = None) -> list[str]:
    """A bar per step; within `width` the bars shrink (down to 10 characters), then the step labels."""
    bar_width = BAR_WIDTH if width is None else max(10, min(BAR_WIDTH, width - 80))
    label = 36 if width is None else max(12, min(36, width - 44 - bar_width))
    top = max([report["arena_bytes"], *(s["live_bytes"] for s in report["live_steps"])]) or 1
    lines = [f"bytes live per step, less what an output shares with the input it overwrites (the arena: "
             f"{report['arena_bytes']:,} B; each █ is {top / bar_width:,.0f} B):"]
    for step in report["live_steps"]:
        bar = "█" * round(step["live_bytes"] / top * bar_width)
        shared = f"  (in place: -{step['shared_bytes']:,})" if step.get("shared_bytes") else ""
        lines.append(f"  {step['step']:>4}  {clip(step['what'], label):<{label}} {step['live_bytes']:>9,}  "
                     f"{bar}{shared}")
    return lines


def memory_summary(report: dict[str, Any]) -> list[str]:
    """In place, kernel variants below the fastest, patches: what keeps the arena small, and its cost."""
    lines = []
    if report.get("in_place"):
        lines.append(f"in place: {len(report['in_place'])} layer(s) write over an input they no longer need "
                     "(notes column)")
    if report.get("variants"):
        extra = sum(v["extra_cycles"] for v in report["variants"])
        lines.append(f"kernel variants: {len(report['variants'])} layer(s) run a variant with less scratch than "
                     f"their fastest, about {extra:,} cycles more per inference (the Cortex-M4 cost model; RAM "
                     "first: a larger --ram-budget lets them take the faster one)")
    for patch in report.get("patches", []):
        lines.append(f"patches: the first {len(patch['layers'])} layer(s) run in {patch['bands']} row bands, "
                     f"{patch['extra_macs']:,} MACs more than unpatched ({patch['patched_macs']:,} instead of "
                     f"{patch['macs']:,})")
    return lines


def report_lines(report: dict[str, Any], width: int | None = None, colour: bool = False) -> list[str]:
    """The whole report as text. `width`: the terminal's columns (None: every table as wide as it
    needs, as `--wide` and a pipe get); `colour`: ANSI colours for the SQNR cells."""
    def wrap(text: str, indent: str = "") -> list[str]:
        return textwrap.wrap(text, width, subsequent_indent=indent or "  ") if width else [text]

    lines = wrap(summary_line(report)) + wrap(f"constants: {constants_text(report)}")
    for text in calibration_summary(report.get("calibration") or {}):
        lines += wrap(f"calibration: {text}")
    table, dropped = fitted_layer_table(report, width)
    lines += ["", *render(table, width, colour)]
    if dropped:
        lines += wrap(f"  ({len(dropped)} column(s) left out to fit {width} columns: {', '.join(dropped)}; "
                      "`tinygen report --wide`, --html or --json show them)", "    ")
    accuracy = report.get("accuracy")
    if accuracy and accuracy.get("reference"):
        lines += wrap(f"  SQNR: each layer's int8 output vs {accuracy['reference']}, on {accuracy['samples']} "
                      f"sample(s) ({accuracy['inputs']}); n/a: no tensor of that name in the source model; "
                      f"{sqnr_caption()}", "    ")
    elif accuracy and report["layers"] and report["layers"][0].get("sqnr_note"):
        lines += wrap(f"  SQNR {report['layers'][0]['sqnr_note']}", "    ")
    lines += wrap(f"  MACs: {MACS_RULE}", "    ")
    for target, bench in sorted(report.get("benchmarks", {}).items()):
        lines += wrap(f"  instr {target}: instructions executed on the emulated core per inference "
                      f"({bench['instructions']:,} in all; {bench.get('source', 'tinygen bench')}), not cycles", "    ")
    lines += precision_lines(report.get("precision"))
    memory = [wrapped for text in memory_summary(report) for wrapped in wrap(text)]
    targets, chart = target_table(report), live_chart(report, width)
    lines += ["", *wrap(targets[0]), *targets[1:], "", *([*memory, ""] if memory else []), *wrap(chart[0]), *chart[1:]]
    if "board" in report:
        lines += ["", *wrap(report["board"]["verdict"]),
                  *(wrapped for text in report["board"]["advice"] for wrapped in wrap(text))]
    return lines


def short_lines(report: dict[str, Any], heaviest: int = 3) -> list[str]:
    """What `tinygen compile` prints after its summary: the costliest layers."""
    total = report["macs"] or 1
    rows = sorted(report["layers"], key=lambda row: -row["macs"])[:heaviest]
    summary = report.get("precision")
    return ["  heaviest      " + "; ".join(
        f"{row['index']} {row['op']} {100 * row['macs'] / total:.0f}% of MACs" for row in rows if row["macs"])
            ] + ([f"  precision     {precision_total(summary)}"] if summary and summary["layers"] else [])
