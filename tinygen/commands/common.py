"""Helpers shared by the commands: output, and reading/writing array files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from ..errors import DataError
from ..serialize import load_array_file  # noqa: F401  (re-exported for the commands)

# `--as` of compile and export: tinygen/export.py FORMATS, listed here so that the command line
# starts without importing the code generator (tests/test_export.py checks that the two agree).
EXPORT_FORMATS = ["cmake", "make", "zephyr", "arduino"]


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


OUTPUT_SUFFIXES = (".npy", ".npz", ".csv")


def check_output_file(path: Path, outputs: int) -> None:
    """Refuse, before any work, an output file whose format cannot hold the results."""
    if path.suffix not in OUTPUT_SUFFIXES:
        raise DataError(f"{path}: unknown output format '{path.suffix}'",
                        hint="Name the file .npy, .npz (several outputs) or .csv.")
    if path.suffix == ".npy" and outputs > 1:
        raise DataError(f"{path}: the model has {outputs} outputs; a .npy file holds one",
                        hint="Write a .npz (keyed by output name) or a .csv.")


def save_outputs(path: Path, output_names: list[str], outputs: Any) -> None:
    """Write outputs by the file's suffix (check_output_file): .npy (one output), .npz keyed by
    output name, or .csv (one row per sample: every output's values flattened, a header naming
    each column). A file-system failure is a TinygenError with the path and the reason (nothing
    half-written is left behind)."""
    from ..errors import TinygenError, os_error_text

    arrays = outputs if isinstance(outputs, dict) else {output_names[0]: outputs}
    check_output_file(path, len(arrays))
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise TinygenError(f"cannot write {path}: the folder {parent} does not exist"
                           if not parent.exists() else f"cannot write {path}: {parent} is not a folder")
    try:
        with open(path, "wb") as handle:
            if path.suffix == ".npz":
                np.savez(handle, **arrays)
            elif path.suffix == ".npy":
                np.save(handle, next(iter(arrays.values())))
            else:
                rows = [a.reshape(a.shape[0], -1) for a in arrays.values()]
                header = ",".join(f"{name}[{i}]" for name, a in zip(arrays, rows, strict=True)
                                  for i in range(a.shape[1]))
                integer = all(np.issubdtype(a.dtype, np.integer) for a in rows)
                np.savetxt(handle, np.concatenate(rows, axis=1), delimiter=",", header=header, comments="",
                           fmt="%d" if integer else "%.9g")
    except OSError as exc:
        path.unlink(missing_ok=True) if path.is_file() else None
        raise TinygenError(f"cannot write {path}: {os_error_text(exc, path)}") from None
