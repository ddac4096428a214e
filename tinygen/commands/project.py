"""`tinygen project OUT`: (re)write the PlatformIO project files of an output folder."""

from __future__ import annotations

from pathlib import Path

import click

from .common import Context


@click.command("project")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--board", "boards", multiple=True, metavar="ENV",
              help="Environment(s) to emit in platformio.ini (repeatable; default: all of `tinygen boards`).")
@click.option("--vectors", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Test vectors to embed in the harness at most (fewer when they exceed 32 KiB).")
@click.pass_obj
def command(obj: Context, out_dir: Path, boards: tuple[str, ...], vectors: int) -> None:
    """Add or rewrite OUT's PlatformIO project: platformio.ini, src/ (the harness and its test
    vectors), test/ and lib/tinygen_harness/. The model and kernel libraries are kept.

    \b
    Example:
      tinygen project out/ --board host --board qemu_m4 --board nucleo_f446re
    """
    from ..platformio.project import write_project

    files = write_project(out_dir, boards=boards, vectors=vectors)
    obj.info(f"wrote the PlatformIO project of {out_dir} ({len(files)} files)")
    for line in files:
        obj.debug(line)
