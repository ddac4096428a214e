"""Writing an output folder all at once or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import TinygenError

MARKER = ".tinygen/manifest.json"
KEPT_ACROSS_REWRITES = (".pio",)  # PlatformIO's build folder of the project in OUT


def write_tree(out: Path, files: dict[str, bytes], force: bool = False, marker: str = MARKER) -> None:
    """Replace folder `out` with exactly `files` (relative path -> bytes).

    Everything is written into a temporary sibling folder first and moved into place with
    renames, so `out` is either the old folder or the complete new one. An existing folder that
    tinygen did not write (no `marker` file in it) is never replaced (unless force). PlatformIO's
    build cache (.pio) moves over to the new folder, so rebuilding after a recompile does not
    start from nothing.
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise TinygenError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / marker).exists() and not force:
            raise TinygenError(f"{out}: exists and was not written by tinygen; refusing to replace it",
                               hint="Choose another output folder, or empty this one.")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    try:
        for relative, data in sorted(files.items()):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.chmod(staging, 0o755)
        for kept in KEPT_ACROSS_REWRITES:  # build caches stay valid: the builds check their sources
            if (out / kept).is_dir() and not (staging / kept).exists():
                os.rename(out / kept, staging / kept)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            os.rmdir(retired)
            os.rename(out, retired)
            os.rename(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
