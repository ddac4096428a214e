"""`tinygen bench OUT --target qemu_m4`: instructions and estimated cycles per inference on an emulated Cortex-M."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import Context


@click.command("bench")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--target", "-e", "target", default="qemu_m4", show_default=True, metavar="ENV",
              help="A QEMU env: qemu_m4 (Cortex-M4F), qemu_m7, qemu_m33 (or qemu_m3, no DSP).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures as JSON to this file.")
@click.option("--no-cycles", is_flag=True,
              help="Skip the estimated cycles (they come from a traced run of each firmware: a few seconds more).")
@click.pass_obj
def command(obj: Context, out_dir: Path, target: str, json_path: Path | None, no_cycles: bool) -> None:
    """Count the instructions of one inference of OUT on an emulated Cortex-M core.

    Builds OUT's firmware for the env (in OUT/.tinygen/bench/), runs one inference of the model's
    <name>_run on a fixed random int8 input (numpy.random.default_rng(1234), tinygen's
    channels-last layout) in QEMU with -icount shift=0, twice, checks the output against the
    golden reference and that both runs count the same, and prints: instructions per inference,
    MACs per instruction, instructions per layer (and the kernel variant each layer calls), the
    arena, and the firmware's flash (without the test vector) and static RAM. The figures are also
    kept in OUT/.tinygen/bench/ENV.json, where `tinygen report` finds them.

    Instructions are counted on the emulated core (SysTick ticks x 40, or x 50 on qemu_m33).
    Cycles are estimated from a traced run with the Cortex-M4 TRM timings at zero wait states
    (tinygen/platformio/cycles.py says what is and is not modelled), per inference and per layer.

    \b
    Example:
      tinygen bench out/ --target qemu_m4 --json m4.json
    """
    from ..bench import format_result, run
    from ..reporting.results import save_bench_result

    result = run(out_dir, target, stream=obj.verbose, with_cycles=not no_cycles)
    for line in format_result(result):
        click.echo(line)
    save_bench_result(out_dir, {**result.to_json(), "source": "tinygen bench"})  # for `tinygen report`
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_json(), indent=1) + "\n")
        obj.info(f"wrote {json_path}")
