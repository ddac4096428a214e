"""outdir.write_tree: all or nothing, never over a folder tinygen did not write, and PlatformIO's
build cache survives a rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygen.errors import TinygenError
from tinygen.outdir import MARKER, write_tree


def test_rewrite_replaces_everything_but_keeps_the_build_cache(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {MARKER: b"{}", "lib/a.c": b"int a;", "old.txt": b"x"})
    (out / ".pio" / "build").mkdir(parents=True)
    (out / ".pio" / "build" / "object.o").write_bytes(b"cached")
    write_tree(out, {MARKER: b"{}", "lib/a.c": b"int b;"})
    assert (out / "lib" / "a.c").read_bytes() == b"int b;"
    assert not (out / "old.txt").exists()
    assert (out / ".pio" / "build" / "object.o").read_bytes() == b"cached"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folders left


def test_a_folder_tinygen_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(TinygenError, match="was not written by tinygen"):
        write_tree(out, {MARKER: b"{}"})
    assert (out / "notes.txt").read_text() == "keep me"
