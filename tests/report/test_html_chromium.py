"""The HTML report is one self-contained page that a browser renders: headless Chromium (Debian's
`chromium`, installed by `make setup`) loads it from disk, and the rendered DOM holds the layer
table (one row per layer, plus the totals) and the arena picture (an inline SVG with one
rectangle per buffer); a screenshot of it is a real image."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import MACS

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is not installed (make setup installs Debian's chromium package)")


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, env=env)


class Census(HTMLParser):
    """Counts what the rendered DOM holds."""

    def __init__(self) -> None:
        super().__init__()
        self.layer_rows = 0
        self.total_rows = 0
        self.svgs: list[dict[str, str | None]] = []
        self.rects_in_picture = 0
        self.tables: list[str] = []
        self.external: list[str] = []
        self._in_picture = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and attributes.get("class") == "layer":
            self.layer_rows += 1
        if tag == "tr" and attributes.get("class") == "total":
            self.total_rows += 1
        if tag == "table":
            self.tables.append(attributes.get("id") or "")
        if tag == "figure" and attributes.get("id") == "arena-picture":
            self._in_picture = True
        if tag == "svg":
            self.svgs.append(attributes)
        if tag == "rect" and self._in_picture:
            self.rects_in_picture += 1
        for key in ("src", "href"):
            value = attributes.get(key) or ""
            if re.match(r"(https?:)?//", value):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._in_picture = False


def test_chromium_renders_the_table_and_the_arena_picture(mlperf: dict, tinygen_cli, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = tinygen_cli("report", mlperf["kws_dscnn_float"], "--html", page, "--json", tmp_path / "report.json")
    assert result.code == 0, result.err
    import json

    figures = json.loads((tmp_path / "report.json").read_text())
    source = page.read_text()
    assert "<script" not in source and "<link" not in source  # nothing to fetch, nothing to run

    dom = run_chromium(["--dump-dom", page.resolve().as_uri()], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    census = Census()
    census.feed(dom.stdout)
    assert census.layer_rows == len(figures["layers"]) == 13
    assert census.total_rows == 1
    assert {"layers", "targets", "live"} <= set(census.tables)
    assert census.svgs and census.svgs[0].get("viewbox") == "0 0 960 540"  # HTMLParser lowercases names
    buffers = {b["name"] for step in figures["live_steps"] for b in step["buffers"]}
    assert census.rects_in_picture > len(buffers)  # a rectangle per buffer, plus the step columns
    assert census.external == []
    assert "kws_dscnn_float" in dom.stdout and f"{MACS['kws_dscnn']:,}" in dom.stdout

    shot = tmp_path / "report.png"
    screenshot = run_chromium([f"--screenshot={shot}", "--window-size=1280,2000", page.resolve().as_uri()],
                              tmp_path / "profile-shot")
    assert screenshot.returncode == 0, screenshot.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a page with content, not a blank
