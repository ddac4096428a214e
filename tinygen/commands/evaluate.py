"""`tinygen evaluate OUT --data FILE`: accuracy of the int8 model against the float model on labelled
data (tinygen/evaluate.py)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import Context


@click.command("evaluate")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="A .npz with x (or arrays named after the inputs) and y; a folder with x.npy and y.npy; or a "
                   "folder of one-sample .npy files with labels.txt / labels.csv / labels.npy.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Labels as a separate .npy (overrides any in --data).")
@click.option("--target", default="host", show_default=True, metavar="ENV",
              help="Where the int8 model runs: 'host' (the host simulator) or a PlatformIO env of OUT such as "
                   "qemu_m4 (slow: combine with --subset).")
@click.option("--subset", type=click.IntRange(min=1), metavar="N", help="Evaluate the first N samples only.")
@click.option("--top", type=click.IntRange(min=2), default=5, show_default=True, help="k of the top-k accuracy.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures as JSON ('-' for standard output).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one self-contained HTML page with the confusion matrix drawn.")
@click.pass_obj
def command(obj: Context, out_dir: Path, data_path: Path, labels_path: Path | None, target: str,
            subset: int | None, top: int, json_path: Path | None, html_path: Path | None) -> None:
    """Accuracy of the compiled int8 model against the float model on a dataset.

    Classifiers: accuracy float vs int8 with the difference and its 95% confidence interval, top-k,
    per-class precision/recall, the confusion matrix and the samples whose prediction changed.
    Other models: RMSE, max error, cosine similarity, SQNR; AUC for autoencoders with 0/1 labels.

    \b
    Example:
      tinygen evaluate out/ --data test.npz --html eval.html
      tinygen evaluate out/ --data test.npz --target qemu_m4 --subset 50
    """
    from ..evaluation import evaluate, write_json

    result = evaluate(out_dir, data_path, labels=labels_path, target=target, subset=subset, top=top)
    if json_path is not None:
        text = write_json(result, json_path)
        if str(json_path) == "-":
            click.echo(text, nl=False)
    if html_path is not None:
        from ..reporting.evaluation import render_evaluation_html

        html_path.write_text(render_evaluation_html(result.to_json()))
    if str(json_path) != "-":
        for line in result.lines():
            obj.info(line)
        for path in (json_path, html_path):
            if path is not None:
                obj.info(f"wrote {path}")
