"""`tinygen verify OUT`: golden reference vs generated C, bit for bit."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import EXIT_VERIFY_FAILED
from .common import Context, echo_err


@click.command("verify")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Float inputs (N, ...) in the model's layout (default: the samples kept at compile time).")
@click.pass_obj
def command(obj: Context, out_dir: Path, input_path: Path | None) -> None:
    """Check that the compiled C equals the golden reference, bit for bit.

    Runs the numpy golden reference and the generated C on the host simulator on the same
    inputs and compares every int8 output; exits 1 and prints the first mismatch if they
    differ. Also reports how close the int8 model is to the float model (onnxruntime):
    top-1 agreement for classifiers and SQNR in dB.

    \b
    Example:
      tinygen verify out/ --input samples.npy
    """
    from ..verification import verify_model

    report = verify_model(out_dir, input_path)
    for line in report.lines:
        obj.info(line)
    if not report.identical:
        echo_err(report.mismatch or "outputs differ")
        raise SystemExit(EXIT_VERIFY_FAILED)
