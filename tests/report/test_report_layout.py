"""The report scales (issue 17, item 5): the text tables fit the terminal (full width with --wide and in a
pipe, JSON and HTML), the SQNR colours follow the thresholds the captions state (text and HTML), the HTML
has the notes column, the calibration and the arena picture's legend, the summary says what "weights" and
"all constants" count, and pooling layers count their MACs by the stated rule."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tinygen
from tinygen.reporting.html import render_html
from tinygen.reporting.text import LOW_SQNR_DB, MACS_RULE, constants_text, notes_text, report_lines

from ..conftest import calibration_file, model_file

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kws(tmp_path_factory: pytest.TempPathFactory) -> tinygen.Report:
    """The float KWS DS-CNN calibrated on its data: SQNR from 34 dB down to 19 dB, in place layers and
    kernel variants in the notes, one average pool."""
    out = tmp_path_factory.mktemp("layout") / "kws"
    tinygen.compile(model_file("kws_dscnn", "float"), out, calib=str(calibration_file("kws_dscnn")), name="kws")
    return tinygen.report(out)


def _table_rows(lines: list[str], count: int) -> dict[int, str]:
    """The layer rows of a text table, by layer index."""
    rows = {}
    for line in lines:
        match = re.match(r"\s*(\d+)\s", ANSI.sub("", line))
        if match and int(match.group(1)) < count and ("conv" in line or "pool" in line or "fully" in line
                                                      or "reshape" in line or "softmax" in line):
            rows.setdefault(int(match.group(1)), line)
    return rows


@pytest.mark.parametrize("width", [80, 100, 120])
def test_text_fits_the_terminal(kws: tinygen.Report, width: int) -> None:
    lines = kws.lines(width)
    widest = max(len(line) for line in lines)
    print(f"terminal {width} columns: widest line {widest}")
    assert widest <= width
    rows = _table_rows(lines, len(kws.figures["layers"]))
    assert sorted(rows) == list(range(len(kws.figures["layers"])))  # one line per layer, none lost
    for row in kws.figures["layers"]:
        assert f"{row['macs']:,}" in rows[row["index"]]  # numbers are never cut
    assert "left out to fit" in " ".join(lines)  # what went, and how to see it


def test_wide_and_piped_text_has_every_column_in_full(kws: tinygen.Report, tinygen_cli) -> None:
    lines = kws.lines(None)
    header = next(line for line in lines if line.lstrip().startswith("#"))
    for column in ("input", "output", "MACs", "params", "const B", "arena @off+size", "in scale,zp", "out scale,zp",
                   "SQNR dB", "notes"):
        assert column in header
    print(f"--wide: widest line {max(len(line) for line in lines)} columns")
    longest = max((row["name"] for row in kws.figures["layers"]), key=len)
    assert any(longest in line for line in lines)  # names whole
    piped = tinygen_cli("report", kws.figures["out_dir"], "--no-sqnr")  # stdout is not a terminal here
    assert piped.code == 0 and longest in piped.out and "left out" not in piped.out
    assert "\x1b[" not in piped.out  # no colour codes into a pipe
    wide = tinygen_cli("report", kws.figures["out_dir"], "--no-sqnr", "--wide")
    assert wide.code == 0 and longest in wide.out


def test_sqnr_colours_follow_the_caption(kws: tinygen.Report) -> None:
    layers = kws.figures["layers"]
    values = [row["sqnr_db"] for row in layers if row["sqnr_db"] is not None]
    assert min(values) < LOW_SQNR_DB < LOW_SQNR_DB + 10 < max(values)  # this model has all three bands
    lines = report_lines(kws.figures, 200, colour=True)
    caption = " ".join(" ".join(lines).split())
    assert f"SQNR below {LOW_SQNR_DB:.0f} dB is shown red, below {LOW_SQNR_DB + 10:.0f} dB yellow" in caption
    rows = _table_rows(lines, len(layers))
    for row in layers:
        red, yellow = "\x1b[31m" in rows[row["index"]], "\x1b[33m" in rows[row["index"]]
        value = row["sqnr_db"]
        assert red == (value is not None and value < LOW_SQNR_DB), (row["index"], value)
        assert yellow == (value is not None and LOW_SQNR_DB <= value < LOW_SQNR_DB + 10), (row["index"], value)
    html = render_html(kws.figures)
    assert f"below {LOW_SQNR_DB:.0f} dB is highlighted <span class=\"low\">red</span>, below " \
           f"{LOW_SQNR_DB + 10:.0f} dB <span class=\"mid\">yellow</span>" in html
    cells = re.findall(r'<td class="num ?(low|mid)?" title="[^"]*">([0-9.]+|exact|n/a|-)</td>', html)
    assert len(cells) == len(layers)
    for (css, text), row in zip(cells, layers, strict=True):
        value = row["sqnr_db"]
        expected = "low" if value is not None and value < LOW_SQNR_DB else \
            "mid" if value is not None and value < LOW_SQNR_DB + 10 else ""
        assert css == expected, (text, value)


class _Tables(HTMLParser):
    """Each table's header cells and rows of cell texts, by the table's id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = dict(attrs).get("id") or f"table{len(self.tables)}"
            self.tables[self.current] = {"head": [], "rows": []}
        elif tag == "tr" and self.current:
            self.tables[self.current]["rows"].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.current:
            text = "".join(self.cell).strip()
            table = self.tables[self.current]
            (table["head"] if tag == "th" else table["rows"][-1]).append(text)
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def test_html_has_notes_calibration_legend_and_constants(kws: tinygen.Report) -> None:
    html = render_html(kws.figures)
    parsed = _Tables()
    parsed.feed(html)
    layers = parsed.tables["layers"]
    assert layers["head"][-1] == "notes"
    rows = [row for row in layers["rows"] if row][: len(kws.figures["layers"])]
    notes = [row[-1] for row in rows]
    assert notes == [notes_text(row) for row in kws.figures["layers"]]
    assert any("in place" in n for n in notes) and any("4-pixel blocks" in n for n in notes)
    text = unescape(html)
    assert 'id="calibration"' in html and "calib.npz: 74 sample(s)" in text and "input 'input_1' range" in text
    legend = next(t for t in parsed.tables.values() if t["head"][:2] == ["#", "buffer"])
    entries = [row for row in legend["rows"] if row]
    assert len(entries) == len(kws.figures["arena_buffers"]) > 10
    assert [row[1] for row in entries] == [b["name"] for b in kws.figures["arena_buffers"]]
    assert "are the layers' int8 weights and int32 biases" in text and MACS_RULE in text
    json.dumps({k: v for k, v in kws.figures.items() if k != "arena_svg"})


def test_weights_and_constants_are_explained(kws: tinygen.Report) -> None:
    summary = " ".join(" ".join(kws.lines(100)[:8]).split())
    assert "constants: weights" in summary and "lookup tables" in summary
    more = constants_text({"weights_bytes": 1_000, "constants_bytes": 1_300})
    assert "(300 B more than the weights)" in more
    fewer = constants_text({"weights_bytes": 219_064, "constants_bytes": 82_797})  # VWW's figures in issue 17
    assert "136,267 B fewer than the weights because output channels whose int8 weights are all zero" in fewer


def test_pooling_counts_macs_by_the_stated_rule(kws: tinygen.Report, tinygen_cli) -> None:
    pool = next(row for row in kws.figures["layers"] if row["op"] == "avg_pool")
    assert pool["inputs"][0]["shape"] == [1, 25, 5, 64] and pool["output"]["shape"] == [1, 1, 1, 64]
    assert pool["macs"] == 64 * 25 * 5  # one per window element (25 x 5) per output value (64)
    assert "pooling and mean/sum reductions count one per window element" in " ".join(" ".join(kws.lines(None)).split())
    help_text = tinygen_cli("report", "--help").out
    assert "pooling and mean/sum reductions one per window element per output value" in " ".join(help_text.split())


def test_report_rows_wrap_names_and_notes_within_width(kws: tinygen.Report, tmp_path: Path) -> None:
    lines = report_lines(kws.figures, 80)
    assert any(line.rstrip().endswith("…") or "…" in line for line in lines)  # long names end in "…"
    assert all(len(line) <= 80 for line in lines)
