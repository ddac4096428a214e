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


def save_outputs(path: Path, output_names: list[str], outputs: Any) -> None:
    """Write outputs as .npy (one output) or .npz keyed by output name."""
    if isinstance(outputs, dict) or path.suffix == ".npz":
        arrays = outputs if isinstance(outputs, dict) else {output_names[0]: outputs}
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    else:
        with open(path, "wb") as handle:
            np.save(handle, outputs)
