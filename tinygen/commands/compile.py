"""`tinygen compile MODEL.onnx -o OUT`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import click

from ..errors import TinygenError
from .common import EXPORT_FORMATS, Context, echo_err, input_shape_option


def memory_lines(summary: dict) -> list[str]:
    """How the arena got small: in-place layers, smaller-scratch kernel variants, patches."""
    lines = []
    if summary.get("in_place"):
        lines.append(f"  in place      {len(summary['in_place'])} layer(s) write over an input they no longer need")
    if summary.get("variants"):
        extra = sum(v["extra_cycles"] for v in summary["variants"])
        kinds = sorted({v["note"] or v["variant"] for v in summary["variants"]})
        lines.append(f"  variants      {len(summary['variants'])} layer(s) in a smaller-scratch variant "
                     f"({', '.join(kinds)}): about {extra:,} more cycles (Cortex-M4 cost model; a larger "
                     "--ram-budget buys them back)")
    wide = summary.get("wide") or {}
    if wide.get("layers"):
        lines.append(f"  wide weights  {len(wide['layers'])} convolution(s) with int16 weights beside the int8 ones: "
                     f"{wide['bytes']:,} B more flash, about {wide['cycles']:,} fewer cycles (--wide-flash sets "
                     "the allowance)")
    for patch in summary.get("patches", []):
        lines.append(f"  patches       the first {len(patch['layers'])} layer(s) in {patch['bands']} row bands: "
                     f"{patch['extra_macs']:,} extra MACs (+{100 * patch['extra_macs'] / max(1, patch['macs']):.0f}% "
                     "of those layers)")
    return lines


def calibration_lines(record: dict) -> list[str]:
    """Where the calibration came from, on what range, which calibrator and corrections."""
    from ..reporting.calibration import calibration_summary

    lines = [text for text in calibration_summary(record) if not text.startswith("WARNING")]
    if record.get("warnings"):  # printed in full on stderr while compiling
        lines.append(f"{len(record['warnings'])} WARNING(S) about the calibration data: see above")
    return [f"  calibration   {text}" for text in lines]


@click.command("compile")
@click.argument("model", type=click.Path(path_type=Path))  # a folder is refused by the frontend (SavedModel)
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (written atomically; replaced if tinygen wrote it before).")
@click.option("--calib", metavar="FILE|random",
              help="Calibration inputs in the model's layout: .npy (N, ...) for a one-input model, "
                   ".npz keyed by input name; or 'random' (accuracy meaningless).")
@click.option("--calib-method", default="minmax", show_default=True, metavar="METHOD",
              help="'minmax', 'percentile:<p>' (e.g. percentile:99.99), 'mse' (least quantization error) or "
                   "'entropy' (KL divergence, TensorRT's method).")
@click.option("--bias-correction", is_flag=True,
              help="Fold each layer's mean int8 output error on calibration data back into its bias.")
@click.option("--equalize", is_flag=True,
              help="Cross-layer equalization of convolution chains (depthwise-separable nets) before calibrating.")
@click.option("--holdout", type=click.IntRange(min=0), metavar="N",
              help="Calibration samples kept apart for `tinygen verify` (default: 16 when the file has 128 or "
                   "more, else none; 0: calibrate on all).")
@click.option("--name", metavar="PREFIX", help="C prefix of the generated API (default: from the file name).")
@click.option("--debug", is_flag=True, help="Verify the IR after every pass.")
@click.option("--force", is_flag=True, help="Replace OUT even if tinygen did not write it.")
@click.option("--ram-budget", type=click.IntRange(min=0), metavar="BYTES",
              help="The activation arena may use up to BYTES: spare bytes buy faster kernel variants, too few "
                   "make the first layers run in row bands (patch-based); fail, writing nothing, if no plan fits. "
                   "Without it: the smallest arena the kernels allow.")
@click.option("--patches", type=click.IntRange(min=2), metavar="BANDS",
              help="Run the first layers of the model in BANDS row bands (patch-based execution) even if the "
                   "budget does not need it; the report shows the extra MACs.")
@click.option("--patch-layers", type=click.IntRange(min=1), metavar="N",
              help="With --patches: the number of layers from the input that run in bands (default: the count "
                   "giving the smallest arena).")
@click.option("--no-in-place", "no_in_place", is_flag=True,
              help="Give every tensor bytes of its own: no output over its input, no residual Add fused into its "
                   "convolution (the plain plan, to compare).")
@click.option("--input-shape", "input_shape", multiple=True, metavar="NAME=D0,D1,...",
              help="Pin the dimensions of input NAME (repeatable), e.g. image=1,3,96,96: for dynamic dimensions, "
                   "or a fixed batch given as 1.")
@click.option("--board", metavar="ENV|FILE",
              help="Check that the model fits this board's RAM and flash (`tinygen boards`, or a JSON board file "
                   "with name, ram_kib, flash_kib): exit 2 with what would help if not (OUT is still written, for "
                   "`tinygen report`).")
@click.option("--ram", "ram_kib", type=click.IntRange(min=1), metavar="KIB",
              help="The board's RAM in KiB (with --board: overrides its figure; alone with --flash: a custom board).")
@click.option("--flash", "flash_kib", type=click.IntRange(min=1), metavar="KIB",
              help="The board's flash in KiB (as --ram).")
@click.option("--as", "export_as", type=click.Choice(EXPORT_FORMATS), metavar="FORMAT",
              help="Write the model as a library for your own build into OUT/<name>/ (as `tinygen export` does: "
                   "cmake, make, zephyr or arduino), touching nothing else in OUT; the compile folder itself is "
                   "not kept.")
@click.option("--weights", type=click.Choice(["int8", "int4"]), default=None,
              help="Weight precision of every convolution, depthwise convolution and fully connected layer (int4: "
                   "per-channel symmetric, packed two per byte; default int8).")
@click.option("--activations", type=click.Choice(["int8", "int16"]), default=None,
              help="Activation precision of the whole model (default int8).")
@click.option("--precision-file", "precision_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE",
              help='Per-layer precision, JSON: layer name or glob pattern -> {"activations": "int8|int16", '
                   '"weights": "int8|int4"} (later entries win; the layer names: `tinygen inspect`).')
@click.option("--precision", "precision", type=click.Choice(["auto"]), default=None,
              help="auto: choose each layer's precision (int4 weights for the least sensitive layers, measured on the "
                   "calibration data) under --min-sqnr and/or --max-flash; --weights/--activations/--precision-file "
                   "give the starting point.")
@click.option("--min-sqnr", "min_sqnr", type=float, metavar="DB",
              help="With --precision auto: the least output SQNR against the float model, in dB.")
@click.option("--max-flash", "max_flash", type=click.IntRange(min=1), metavar="BYTES",
              help="With --precision auto: the most bytes of weights and biases (the summary's 'weights').")
@click.option("--wide-flash", "wide_flash", type=click.IntRange(min=0), metavar="BYTES",
              help="Flash that pre-widened (int16) convolution weights may add on DSP cores, bought for the layers "
                   "with the most cycles saved per byte (default: a quarter of the weight bytes, at least 32 KiB; "
                   "0: none).")
@click.pass_obj
def command(obj: Context, model: Path, out_dir: Path, calib: str | None, calib_method: str,
            bias_correction: bool, equalize: bool, holdout: int | None, name: str | None, debug: bool,
            force: bool, ram_budget: int | None, patches: int | None, patch_layers: int | None, no_in_place: bool,
            input_shape: tuple[str, ...], board: str | None, ram_kib: int | None, flash_kib: int | None,
            weights: str | None, activations: str | None, precision_file: Path | None, precision: str | None,
            min_sqnr: float | None, max_flash: int | None, export_as: str | None, wide_flash: int | None) -> None:
    """Compile MODEL.onnx into a C project in OUT.

    \b
    With --as FORMAT, OUT is a folder of your firmware project and the model lands in OUT/<name>/
    as `tinygen export` writes it; compile into a folder of its own and run `tinygen export` to keep
    that folder for verify, report and build.

    \b
    Example:
      tinygen compile kws.onnx -o kws_out --calib calib.npz --name kws
      tinygen compile kws_int8_qdq.onnx -o kws_out --board nucleo_f446re
      tinygen compile kws_int8_qdq.onnx -o firmware/third_party --as cmake
    """
    # Precision choices (quantize/precision.py) and the widened weights' flash (plan/wide.py) go to
    # compile_model as they are.
    precision_options = {"weights": weights, "activations": activations, "precision": precision,
                         "precision_file": precision_file, "min_sqnr": min_sqnr, "max_flash": max_flash,
                         "wide_flash": wide_flash}
    if export_as is not None:  # compile into a scratch folder, export from it: the same path as `tinygen export`
        with tempfile.TemporaryDirectory(prefix="tinygen-compile-") as scratch:
            dest, out_dir = out_dir, Path(scratch) / "out"
            if force:
                echo_err("note: --force does not apply with --as: an export only ever replaces an earlier export")
            compile_and_print(obj, model, out_dir, calib, calib_method, bias_correction, equalize, holdout, name,
                              debug, False, ram_budget, patches, patch_layers, no_in_place, input_shape, board,
                              ram_kib, flash_kib, precision_options, exported=True)
            from ..export import export

            target = export(out_dir, dest, export_as)
            obj.info(f"  exported      {export_as} library in {target} (its README.md has the integration snippet)")
        return
    compile_and_print(obj, model, out_dir, calib, calib_method, bias_correction, equalize, holdout, name, debug,
                      force, ram_budget, patches, patch_layers, no_in_place, input_shape, board, ram_kib, flash_kib,
                      precision_options)


def compile_and_print(obj: Context, model: Path, out_dir: Path, calib: str | None, calib_method: str,
                      bias_correction: bool, equalize: bool, holdout: int | None, name: str | None, debug: bool,
                      force: bool, ram_budget: int | None, patches: int | None, patch_layers: int | None,
                      no_in_place: bool, input_shape: tuple[str, ...], board: str | None, ram_kib: int | None,
                      flash_kib: int | None, precision_options: dict[str, Any], exported: bool = False) -> None:
    """Compile, print the summary and check the board fit (`precision_options`: compile_model's weights,
    activations, precision, precision_file, min_sqnr and max_flash; `exported`: OUT is a scratch folder)."""
    from ..api import compile_model
    from ..platformio.envs import fit_target
    from ..reporting import build_report
    from ..reporting.text import constants_note, short_lines
    from ..stack import stack_line

    target = fit_target(board, ram_kib, flash_kib)  # an unknown board is refused before compiling
    input_shapes = input_shape_option(input_shape)

    start = time.perf_counter()
    result = compile_model(model, out_dir, calib=calib, calib_method=calib_method, name=name, debug=debug,
                           log=obj.debug if obj.verbose else None, warn=echo_err, force=force,
                           ram_budget=ram_budget, bias_correction=bias_correction, equalization=equalize,
                           holdout=holdout, patches=patches, patch_layers=patch_layers, in_place=not no_in_place,
                           input_shapes=input_shapes, **precision_options)
    elapsed = time.perf_counter() - start
    s = result.summary
    where = "" if exported else f" -> {out_dir}"
    obj.info(f"compiled {model}{where} (prefix '{result.model.name}') in {elapsed:.2f} s")
    ops = ", ".join(f"{op} x{count}" for op, count in s["ops"].items())
    obj.info(f"  layers        {s['layers']}: {ops}")
    obj.info(f"  parameters    {s['params']:,}")
    obj.info(f"  MACs          {s['macs']:,}")
    if s.get("moved_bytes"):
        obj.info(f"  data movement {s['moved_bytes']:,} B copied by {s['movement_layers']} layer(s) "
                 "(slice/transpose/gather/...; views and aliases copy nothing)")
    obj.info(f"  weights       {s['weights_bytes']:,} B (all constants {s['constants_bytes']:,} B"
             f"{constants_note(s['weights_bytes'], s['constants_bytes'])})")
    obj.info(f"  arena         {s['arena_bytes']:,} B (lower bound for this schedule "
             f"{s['arena_lower_bound_bytes']:,} B)")
    stack = stack_line(s.get("stack"))
    obj.info(f"  stack         {stack}" if stack else "  stack         not measured (no arm-none-eabi-gcc on PATH)")
    for line in memory_lines(s):
        obj.info(line)
    for line in calibration_lines(result.model.manifest.get("calibration") or {}):
        obj.info(line)
    for note in s.get("notes", []):
        obj.info(f"  note          {note}")
    report = build_report(out_dir, board=target, accuracy=False)  # the short form of `tinygen report`
    for line in short_lines(report):
        obj.info(line)
    if not exported:
        obj.info(f"  per layer     tinygen report {out_dir} --html report.html")
    if target is not None:
        fit = report["board"]
        (obj.info if fit["fits"] else echo_err)(f"  board         {fit['verdict']}")
        if not fit["fits"]:
            for line in fit["advice"]:
                echo_err(f"  {line}")
            if exported:
                raise TinygenError(f"the model does not fit {target.name}; nothing was exported")
            raise TinygenError(f"the model does not fit {target.name}; {out_dir} was written (see `tinygen report "
                               f"{out_dir}` with the same board options)")
