"""Writing an output folder all at once or not at all."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from .errors import TinygenError, os_error_text

MARKER = ".tinygen/manifest.json"
KEPT_ACROSS_REWRITES = (".pio",)  # PlatformIO's build folder of the project in OUT
# Staging folders are named .OUT.<pid>.<random>.tmp (the new tree) and .OUT.<pid>.<random>.old (the
# retired one); a folder whose writer is gone (killed mid-write) is swept by the next write of OUT.
# Folders without a process id (older tinygen) are swept once they are this old.
STALE_SECONDS = 600


def write_tree(out: Path, files: dict[str, bytes], force: bool = False, marker: str = MARKER) -> None:
    """Replace folder `out` with exactly `files` (relative path -> bytes).

    Everything is written into a temporary sibling folder first and moved into place with
    renames, so `out` is either the old folder or the complete new one. An existing folder that
    tinygen did not write (no `marker` file in it) is never replaced (unless force). PlatformIO's
    build cache (.pio) moves over to the new folder, so rebuilding after a recompile does not
    start from nothing. Every file-system failure (unwritable parent, full disk, a path under a
    regular file) is a TinygenError naming the path and the reason, and leaves the old folder as it was.
    """
    out = Path(os.path.abspath(out))
    cwd = Path(os.path.abspath(os.getcwd()))
    if out == cwd or out in cwd.parents:
        raise TinygenError(f"{out}: is the current folder{' or contains it' if out != cwd else ''}; tinygen "
                           "replaces its output folder as a whole",
                           hint="Choose a new or tinygen-written folder, e.g. -o out/model.")
    for ancestor in out.parents:  # a path under a regular file can never be created
        if ancestor.exists() and not ancestor.is_dir():
            raise TinygenError(f"cannot write {out}: {ancestor} is a file, not a folder")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise TinygenError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / marker).exists() and not force:
            raise TinygenError(f"{out}: exists and was not written by tinygen; refusing to replace it",
                               hint="Choose another output folder, or empty this one.")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(parent, out.name)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise TinygenError(f"cannot write {out}: {os_error_text(exc)}") from None
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
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".old", dir=parent))
            os.rmdir(retired)
            os.rename(out, retired)
            os.rename(staging, out)
            remove_tree(retired)
        else:
            os.rename(staging, out)
    except BaseException as exc:
        remove_tree(staging)
        if isinstance(exc, OSError):
            raise TinygenError(f"cannot write {out}: {os_error_text(exc)}"
                               + (" (nothing was changed)" if out.exists() else "")) from None
        raise


def remove_tree(path: Path) -> None:
    """Remove a folder even where it is read-only (a retired OUT the user made read-only)."""

    def retry_writable(function: Any, name: str, _exc_info: Any) -> None:
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            if os.path.lexists(name) and not os.path.islink(name):
                os.chmod(name, stat.S_IRWXU)
            function(name)
        except OSError:
            pass  # what cannot be removed stays; the next write of OUT sweeps it again

    if path.exists():
        shutil.rmtree(path, onerror=retry_writable)


def sweep_stale(parent: Path, name: str) -> list[Path]:
    """Remove the staging folders of `name` left by writers that were killed; returns them."""
    swept = []
    prefix = f".{name}."
    for entry in parent.iterdir() if parent.is_dir() else []:
        if not entry.name.startswith(prefix) or not entry.name.endswith((".tmp", ".old")) or not entry.is_dir():
            continue
        pid = entry.name[len(prefix):].split(".", 1)[0]
        try:
            age = time.time() - entry.stat().st_mtime
        except OSError:
            continue
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
                stale = False
            except ProcessLookupError:
                stale = True
            except OSError:  # exists, owned by someone else
                stale = False
        else:
            stale = age > STALE_SECONDS
        if stale:
            remove_tree(entry)
            swept.append(entry)
    return swept
