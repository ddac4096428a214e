"""`tinygen run OUT --input X --output Y`: batch inference."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .common import Context, check_output_file, load_array_file, save_outputs


@click.command("run")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Inputs (N, ...) in the model's layout: .npy, or .npz keyed by input name (a one-input model "
                   "also takes the `x` array of a samples file).")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the outputs: .npy, .npz keyed by output name, or .csv (a row per sample).")
@click.option("--int8", "int8", is_flag=True, help="Inputs and outputs are raw int8 (quantized) values.")
@click.option("--target", metavar="ENV",
              help="Run through the firmware of a PlatformIO env of OUT instead, e.g. qemu_m4 (an "
                   "emulated Cortex-M4F; built with PlatformIO on first use) or host.")
@click.pass_obj
def command(obj: Context, out_dir: Path, input_path: Path, output_path: Path, int8: bool,
            target: str | None) -> None:
    """Batch inference on the host simulator (or, with --target, an emulated board).

    X is (N, ...) in the model's input layout: float (quantized with the model's input
    parameters) or, with --int8, already-quantized int8. Y is the dequantized float output, or
    the raw int8 output with --int8. Multi-input/output models use .npz keyed by tensor name.

    \b
    Example:
      tinygen run out/ --input x.npy --output y.npy
      tinygen run out/ --input x_int8.npy --output y_int8.npy --int8
      tinygen run out/ --target qemu_m4 --int8 --input x_int8.npy --output y_int8.npy
    """
    from ..model import CompiledModel

    model = CompiledModel(out_dir)
    check_output_file(output_path, len(model.outputs))
    x = load_array_file(input_path)
    start = time.perf_counter()
    y = model.run(x, int8=int8, source=str(input_path), target=target)
    save_outputs(output_path, [io["name"] for io in model.outputs], y)
    count = (next(iter(x.values())) if isinstance(x, dict) else x).shape[0]
    where = f"the {target} firmware" if target else "the host simulator"
    obj.info(f"ran {count} sample(s) on {where} in {time.perf_counter() - start:.2f} s "
             f"-> {output_path}")
    if target:
        from ..platformio.envs import env_named
        from ..platformio.firmware import BATCH_BUILD_DIR, sizes
        from ..platformio.size import format_sizes

        for line in format_sizes(sizes(out_dir, model.name, [env_named(target)], BATCH_BUILD_DIR),
                                 label="batch-runner firmware"):
            obj.info(line)
