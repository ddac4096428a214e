"""`tinygen test OUT [-e ENV]`: the generated unit tests, through `pio test`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from ..errors import EXIT_VERIFY_FAILED
from .build import tail
from .common import Context, echo_err

SUMMARY = re.compile(r"^(\S+)\s+(\S+)\s+(PASSED|FAILED|ERRORED|SKIPPED)\s+(\S+)", re.MULTILINE)


@click.command("test")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-e", "--env", "envs", multiple=True, metavar="ENV",
              help="PlatformIO environment(s) (repeatable; default: the project's offline envs, host and qemu_*).")
@click.pass_obj
def command(obj: Context, out_dir: Path, envs: tuple[str, ...]) -> None:
    """Run the unit tests of OUT's generated C (test/) with `pio test`.

    The tests run the model on the embedded test vectors through every entry point of the
    generated API (static arena, caller arena with guard bytes, zero-copy invoke, float API)
    and compare with the golden outputs. On the host they run as a program, on qemu_* envs in
    QEMU, on a real board over its serial port.

    \b
    Example:
      tinygen test out/ -e host -e qemu_m4
    """
    from ..platformio import firmware
    from ..platformio.size import format_sizes

    chosen = firmware.resolve_envs(out_dir, envs)
    start = time.perf_counter()
    result = firmware.test(out_dir, chosen, stream=obj.verbose)
    for env, test, status, duration in SUMMARY.findall(result.output):
        if env in {e.name for e in chosen}:
            obj.info(f"  {env:<14}{test:<32}{status:<8}{duration}")
    for line in format_sizes(result.sizes, label="test firmware"):
        obj.info(line)
    if not result.ok:
        if not obj.verbose:
            echo_err(tail(result.output))
        echo_err(f"unit tests failed ({', '.join(e.name for e in chosen)})")
        raise SystemExit(EXIT_VERIFY_FAILED)
    obj.info(f"unit tests passed on {', '.join(e.name for e in chosen)} in {time.perf_counter() - start:.1f} s")
