"""`tinygen inspect MODEL.onnx`: ops, shapes, parameters and MACs before compiling, and every
node tinygen cannot compile with the reason (tinygen/reporting/inspect.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import Context, input_shape_option


@click.command("inspect")
@click.argument("model", type=click.Path(path_type=Path))  # a folder is refused by the frontend (SavedModel)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the listing as JSON ('-' for standard output, instead of the table).")
@click.option("--input-shape", "input_shape", multiple=True, metavar="NAME=D0,D1,...",
              help="Pin the dimensions of input NAME (repeatable), as `tinygen compile --input-shape`.")
@click.pass_obj
def command(obj: Context, model: Path, json_path: Path | None, input_shape: tuple[str, ...]) -> None:
    """List a model's nodes with their ops, shapes, parameters and MACs, and every node tinygen
    cannot compile, with the reason, before compiling it.

    The model goes through the same loader and importer as `tinygen compile`, so the verdicts are
    the compiler's. Exits 2, listing all unsupported nodes at once, if any node cannot be compiled.

    \b
    Example:
      tinygen inspect model.onnx
      tinygen inspect model.onnx --json model.json
    """
    from ..errors import UnsupportedModelError
    from ..reporting.inspect import inspect_lines, inspect_model

    result, problems = inspect_model(model, input_shape_option(input_shape))
    if json_path is not None:
        text = json.dumps(result, indent=1) + "\n"
        if str(json_path) == "-":
            click.echo(text, nl=False)
        else:
            json_path.write_text(text)
    if str(json_path) != "-":
        for line in inspect_lines(result):
            obj.info(line)
    if problems:
        raise UnsupportedModelError(str(model), problems)
