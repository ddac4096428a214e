"""Helpers shared by the commands: output, and reading/writing array files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from ..serialize import load_array_file  # noqa: F401  (re-exported for the commands)


def echo_err(message: str) -> None:
    click.echo(message, err=True)


class Context:
    """Global options, passed to every command as click's `obj`."""

    def __init__(self, quiet: bool, verbose: bool):
        self.quiet = quiet
        self.verbose = verbose

    def info(self, message: str) -> None:
        if not self.quiet:
            click.echo(message)

    def debug(self, message: str) -> None:
        if self.verbose:
            echo_err(f"  {message}")


def input_shape_option(texts: tuple[str, ...]) -> dict[str, tuple[int, ...]] | None:
    """The --input-shape NAME=D0,D1,... options as {NAME: dims} (a usage error if malformed)."""
    from ..frontend.shapes import parse_input_shapes

    try:
        return parse_input_shapes(texts) or None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--input-shape") from None


def save_outputs(path: Path, output_names: list[str], outputs: Any) -> None:
    """Write outputs as .npy (one output) or .npz keyed by output name; a file-system failure is a
    TinygenError with the path and the reason (nothing half-written is left behind)."""
    from ..errors import TinygenError, os_error_text

    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise TinygenError(f"cannot write {path}: the folder {parent} does not exist"
                           if not parent.exists() else f"cannot write {path}: {parent} is not a folder")
    try:
        with open(path, "wb") as handle:
            if isinstance(outputs, dict) or path.suffix == ".npz":
                arrays = outputs if isinstance(outputs, dict) else {output_names[0]: outputs}
                np.savez(handle, **arrays)
            else:
                np.save(handle, outputs)
    except OSError as exc:
        path.unlink(missing_ok=True) if path.is_file() else None
        raise TinygenError(f"cannot write {path}: {os_error_text(exc, path)}") from None
