"""`tinygen flash OUT -e ENV`: upload the harness firmware (on a QEMU env: run it)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import EXIT_VERIFY_FAILED, BuildError
from .build import tail
from .common import Context, echo_err


@click.command("flash")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-e", "--env", "env_name", required=True, metavar="ENV",
              help="PlatformIO environment: a real board (uploads; needs the board connected) or a "
                   "qemu_* env (runs the firmware in QEMU).")
@click.pass_obj
def command(obj: Context, out_dir: Path, env_name: str) -> None:
    """Build and upload OUT's harness firmware to a board, with PlatformIO.

    The harness runs the model on the test vectors embedded at compile time, compares with the
    golden outputs and prints PASS or FAIL (on a real board on its serial port at 115200 baud:
    `pio device monitor`). On a qemu_* env "upload" runs the firmware in QEMU, prints its
    output and the instructions per inference, and exits 1 if it failed.

    \b
    Example:
      tinygen flash out/ -e qemu_m4
      tinygen flash out/ -e nucleo_f446re
    """
    from ..platformio import firmware
    from ..platformio.qemu import parse_harness
    from ..platformio.size import format_sizes

    (env,) = firmware.resolve_envs(out_dir, [env_name])
    result = firmware.flash(out_dir, env, stream=obj.verbose)
    harness = parse_harness(result.output)
    if not obj.verbose:
        for line in result.output.splitlines():
            if line.startswith(("TG_", "PASS", "FAIL", "tinygen:")):
                click.echo(line)
    for line in format_sizes(result.sizes):
        obj.info(line)
    if env.kind == "board":
        if not result.ok:
            echo_err(tail(result.output))
            raise BuildError(f"upload to {env.name} failed")
        obj.info(f"uploaded to {env.name}; its serial port (115200 baud) shows the result: "
                 f"pio device monitor -d {out_dir} -e {env.name}")
        return
    if harness.per_inference is not None:
        obj.info(f"{env.name}: {harness.per_inference:,} {harness.counter} per inference "
                 f"(executed on the emulated core, not cycles)")
        if harness.passed:  # kept for `tinygen report` (OUT/.tinygen/bench/<env>.json)
            from ..model import CompiledModel
            from ..reporting.results import harness_result, save_bench_result

            size = result.sizes[0] if result.sizes else None
            save_bench_result(out_dir, harness_result(
                CompiledModel(out_dir).manifest, env.name, harness.per_inference, harness.layers,
                size.flash_total if size else None, size.ram_total if size else None))
    if not result.ok or not harness.passed:
        if harness.status is None:
            echo_err(tail(result.output))
        echo_err(f"{env.name}: FAIL")
        raise SystemExit(EXIT_VERIFY_FAILED)
