"""Helpers shared by the commands: output, and reading/writing array files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from ..errors import DataError
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
    each column)."""
    arrays = outputs if isinstance(outputs, dict) else {output_names[0]: outputs}
    check_output_file(path, len(arrays))
    with open(path, "wb") as handle:
        if path.suffix == ".npz":
            np.savez(handle, **arrays)
        elif path.suffix == ".npy":
            np.save(handle, next(iter(arrays.values())))
        else:
            rows = [a.reshape(a.shape[0], -1) for a in arrays.values()]
            header = ",".join(f"{name}[{i}]" for name, a in zip(arrays, rows, strict=True) for i in range(a.shape[1]))
            integer = all(np.issubdtype(a.dtype, np.integer) for a in rows)
            np.savetxt(handle, np.concatenate(rows, axis=1), delimiter=",", header=header, comments="",
                       fmt="%d" if integer else "%.9g")
