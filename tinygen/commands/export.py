"""`tinygen export OUT DIR --as FORMAT`: the compiled model as a library for the user's own build."""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXPORT_FORMATS, Context


@click.command("export")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--as", "fmt", type=click.Choice(EXPORT_FORMATS), required=True,
              help="The build system of the project the model goes into.")
@click.pass_obj
def command(obj: Context, out_dir: Path, dest: Path, fmt: str) -> None:
    """Write OUT's model into DEST/<name>/ as a CMake library, a Makefile include, a Zephyr module
    or an Arduino library: the model's C, only the kernel sources it calls, the build glue and a
    README with the integration snippet. Only DEST/<name>/ is written; a folder of yours there is
    never replaced.

    \b
    Example:
      tinygen export out/ firmware/third_party --as cmake
    """
    from ..export import export

    target = export(out_dir, dest, fmt)
    obj.info(f"exported {out_dir} for {fmt}: {target}")
