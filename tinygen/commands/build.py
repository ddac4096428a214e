"""`tinygen build OUT [-e ENV]`: build the firmware of a compiled model with PlatformIO."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import BuildError
from .common import Context, echo_err


@click.command("build")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-e", "--env", "envs", multiple=True, metavar="ENV",
              help="PlatformIO environment(s) to build (repeatable; default: the project's offline "
                   "envs, host and qemu_*). `tinygen boards` lists them.")
@click.pass_obj
def command(obj: Context, out_dir: Path, envs: tuple[str, ...]) -> None:
    """Build OUT's firmware with PlatformIO and print its flash and RAM use.

    Host and QEMU envs build offline with tinygen's local dev-platforms; real boards need
    PlatformIO's registry once (see docs/platformio.md).

    \b
    Example:
      tinygen build out/ -e qemu_m4
    """
    from ..platformio import firmware
    from ..platformio.size import format_sizes

    chosen = firmware.resolve_envs(out_dir, envs)
    start = time.perf_counter()
    result = firmware.build(out_dir, chosen, stream=obj.verbose)
    if not result.ok:
        if not obj.verbose:
            echo_err(tail(result.output))
        raise BuildError(f"PlatformIO build failed for {', '.join(e.name for e in chosen)}")
    obj.info(f"built {', '.join(e.name for e in chosen)} in {time.perf_counter() - start:.1f} s")
    for line in format_sizes(result.sizes):
        obj.info(line)


def tail(output: str, lines: int = 40) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])
