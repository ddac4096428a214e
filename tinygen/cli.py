"""The `tinygen` command line.

Exit codes: 0 success; 1 verification failed (outputs differ); 2 bad input or usage (the
message says what and where, no traceback); 3 an internal error (a bug in tinygen: rerun with
TINYGEN_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_VERIFY_FAILED, DataError, TinygenError

EXIT_INTERNAL = 3


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


class Context:
    def __init__(self, quiet: bool, verbose: bool):
        self.quiet = quiet
        self.verbose = verbose

    def info(self, message: str) -> None:
        if not self.quiet:
            click.echo(message)

    def debug(self, message: str) -> None:
        if self.verbose:
            _echo_err(f"  {message}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tinygen")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and results.")
@click.option("-v", "--verbose", is_flag=True, help="Show the pass pipeline with timings.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """tinygen: compile ONNX models into standalone int8 C for microcontrollers.

    \b
    Example:
      tinygen compile model.onnx -o out/ --calib calib.npz
      tinygen verify out/
      tinygen run out/ --input x.npy --output y.npy
    """
    ctx.obj = Context(quiet, verbose)


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (written atomically; replaced if tinygen wrote it before).")
@click.option("--calib", metavar="FILE|random",
              help="Calibration inputs in the model's layout: .npy (N, ...) for a one-input model, "
                   ".npz keyed by input name; or 'random' (accuracy meaningless).")
@click.option("--calib-method", default="minmax", show_default=True, metavar="METHOD",
              help="'minmax' or 'percentile:<p>' (e.g. percentile:99.99).")
@click.option("--name", metavar="PREFIX", help="C prefix of the generated API (default: from the file name).")
@click.option("--debug", is_flag=True, help="Verify the IR after every pass.")
@click.option("--force", is_flag=True, help="Replace OUT even if tinygen did not write it.")
@click.pass_obj
def compile(obj: Context, model: Path, out_dir: Path, calib: str | None, calib_method: str,
            name: str | None, debug: bool, force: bool) -> None:
    """Compile MODEL.onnx into a C project in OUT.

    \b
    Example:
      tinygen compile kws.onnx -o kws_out --calib calib.npz --name kws
    """
    from .api import compile_model

    start = time.perf_counter()
    result = compile_model(model, out_dir, calib=calib, calib_method=calib_method, name=name, debug=debug,
                           log=obj.debug if obj.verbose else None, warn=_echo_err, force=force)
    elapsed = time.perf_counter() - start
    s = result.summary
    obj.info(f"compiled {model} -> {out_dir} (prefix '{result.model.name}') in {elapsed:.2f} s")
    ops = ", ".join(f"{op} x{count}" for op, count in s["ops"].items())
    obj.info(f"  layers        {s['layers']}: {ops}")
    obj.info(f"  parameters    {s['params']:,}")
    obj.info(f"  MACs          {s['macs']:,}")
    obj.info(f"  weights       {s['weights_bytes']:,} B (all constants {s['constants_bytes']:,} B)")
    obj.info(f"  arena         {s['arena_bytes']:,} B (lower bound for this schedule "
             f"{s['arena_lower_bound_bytes']:,} B)")


def _load_array_file(path: Path) -> Any:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npy/.npz file ({exc})") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        return {key: data[key] for key in data.files}


def _save_outputs(path: Path, model: Any, outputs: Any) -> None:
    if isinstance(outputs, dict) or path.suffix == ".npz":
        arrays = outputs if isinstance(outputs, dict) else {model.outputs[0]["name"]: outputs}
        np.savez(path, **arrays)
    else:
        np.save(path, outputs)


@cli.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Inputs (N, ...) in the model's layout: .npy, or .npz keyed by input name.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the outputs (.npy, or .npz keyed by output name).")
@click.option("--int8", "int8", is_flag=True, help="Inputs and outputs are raw int8 (quantized) values.")
@click.pass_obj
def run(obj: Context, out_dir: Path, input_path: Path, output_path: Path, int8: bool) -> None:
    """Batch inference on the host simulator.

    \b
    Example:
      tinygen run out/ --input x.npy --output y.npy
      tinygen run out/ --input x_int8.npy --output y_int8.npy --int8
    """
    from .model import CompiledModel

    model = CompiledModel(out_dir)
    x = _load_array_file(input_path)
    start = time.perf_counter()
    y = model.run(x, int8=int8, source=str(input_path))
    _save_outputs(output_path, model, y)
    count = (next(iter(x.values())) if isinstance(x, dict) else x).shape[0]
    obj.info(f"ran {count} sample(s) on the host simulator in {time.perf_counter() - start:.2f} s "
             f"-> {output_path}")


@cli.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Float inputs (N, ...) in the model's layout (default: the samples kept at compile time).")
@click.pass_obj
def verify(obj: Context, out_dir: Path, input_path: Path | None) -> None:
    """Check that the compiled C equals the golden reference, bit for bit.

    Runs the numpy golden reference and the generated C on the host simulator on the same
    inputs and compares every int8 output; exits 1 and prints the first mismatch if they
    differ. Also reports how close the int8 model is to the float model (onnxruntime):
    top-1 agreement for classifiers and SQNR in dB.

    \b
    Example:
      tinygen verify out/ --input samples.npy
    """
    from .verify import verify_model

    report = verify_model(out_dir, input_path)
    for line in report.lines:
        obj.info(line)
    if not report.identical:
        _echo_err(report.mismatch or "outputs differ")
        raise SystemExit(EXIT_VERIFY_FAILED)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="tinygen", standalone_mode=False)
        return EXIT_OK
    except TinygenError as exc:
        _echo_err(f"error: {exc}")
        return exc.exit_code
    except click.exceptions.Abort:
        _echo_err("aborted")
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_BAD_INPUT
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so plainly
        if os.environ.get("TINYGEN_DEBUG"):
            traceback.print_exc()
        _echo_err(f"internal error (a bug in tinygen): {type(exc).__name__}: {exc}\n"
                  "Rerun with TINYGEN_DEBUG=1 to see the traceback, and please report it.")
        return EXIT_INTERNAL
