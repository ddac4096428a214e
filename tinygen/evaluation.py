"""`tinygen evaluate OUT --data FILE`: the compiled int8 model against the float model on labelled data.

The float model runs in onnxruntime (the `tflite-micro` interpreter for a .tflite source, whose int8
arithmetic tinygen reproduces), the compiled model on the host simulator (or, for a chosen subset,
on an emulated board through its PlatformIO env). What is measured depends on the model:

  classifier     (one (N, K) output, 1 < K <= 1000): accuracy float vs int8 and the paired difference
                 with a 95 % confidence interval, top-k, per-class precision and recall, the confusion
                 matrix, the samples whose prediction changed;
  other outputs  RMSE, max |error|, cosine similarity and SQNR of int8 against float; with targets of
                 the output's shape also the RMSE of each against them;
  autoencoder    (output shaped like the input) the reconstruction error per sample as an anomaly score,
                 and its AUC for float and int8 when the labels are 0/1.

Data: a .npz with `x` (or arrays named after the inputs) and optional `y`; a folder holding x.npy and
y.npy; or a folder of one-sample .npy files with a labels file (labels.txt / labels.csv: `file,label`
lines, or one label per line in file-name order; or labels.npy).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .model import CompiledModel
from .quantize.calibrate import validate_batch
from .serialize import load_array_file
from .verification import onnxruntime_outputs, sqnr_db, tflite_micro_outputs

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile
CHANGED_SHOWN = 20
LABEL_FILES = ("labels.txt", "labels.csv", "labels.npy", "y.npy")


# --- reading data ----------------------------------------------------------------------------------

def read_dataset(path: str | Path, input_names: list[str], labels: str | Path | None = None
                 ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """(inputs keyed by name, labels or None) from the formats the module docstring lists."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    y: Any = None  # the labels as read (serialize.load_array_file)
    if path.is_dir():
        if (path / "x.npy").exists():
            x: Any = load_array_file(path / "x.npy")
            y = load_array_file(path / "y.npy") if (path / "y.npy").exists() else None
        else:
            x, y = _read_sample_folder(path)
    else:
        data = load_array_file(path)
        if isinstance(data, dict):
            y = data.get("y")
            named = {k: v for k, v in data.items() if k in input_names}
            if len(named) == len(input_names):
                x = named
            elif "x" in data:
                x = data["x"]
            else:
                raise DataError(f"{path}: no array 'x' (or arrays named {input_names}); the file has {list(data)}")
        else:
            x = data
    if labels is not None:
        loaded = load_array_file(Path(labels))
        y = loaded.get("y") if isinstance(loaded, dict) else loaded
        if y is None:
            raise DataError(f"{labels}: no array 'y'")
    arrays = x if isinstance(x, dict) else {input_names[0]: x} if len(input_names) == 1 else None
    if arrays is None:
        raise DataError(f"{path}: the model has inputs {input_names}; use a .npz with one array per input name")
    count = next(iter(arrays.values())).shape[0]
    if y is not None:
        y = np.asarray(y)
        if y.shape[0] != count:
            raise DataError(f"{path}: {count} samples but {y.shape[0]} labels")
    return arrays, y


def _read_sample_folder(folder: Path) -> tuple[np.ndarray, np.ndarray | None]:
    files = sorted(p for p in folder.glob("*.npy") if p.name not in LABEL_FILES)
    if not files:
        raise DataError(f"{folder}: no x.npy and no sample .npy files")
    label_file = next((folder / name for name in LABEL_FILES if (folder / name).exists()), None)
    y: np.ndarray | None = None
    if label_file is not None and label_file.suffix == ".npy":
        y = np.asarray(load_array_file(label_file))
    elif label_file is not None:
        lines = [line.strip() for line in label_file.read_text().splitlines() if line.strip()]
        if all("," in line for line in lines):
            by_name = {}
            for line in lines:
                name, _, label = line.rpartition(",")
                by_name[Path(name.strip()).stem] = label.strip()
            missing = [p.name for p in files if p.stem not in by_name]
            if missing:
                raise DataError(f"{label_file}: no label for {missing[:3]}")
            y = _labels_array([by_name[p.stem] for p in files], label_file)
        else:
            if len(lines) != len(files):
                raise DataError(f"{label_file}: {len(lines)} labels for {len(files)} sample files")
            y = _labels_array(lines, label_file)
    x = np.stack([np.asarray(load_array_file(p)) for p in files])
    return x, y


def _labels_array(values: list[str], source: Path) -> np.ndarray:
    try:
        return np.array([int(v) for v in values], np.int64)
    except ValueError:
        try:
            return np.array([float(v) for v in values], np.float64)
        except ValueError:
            raise DataError(f"{source}: labels must be numbers (class indices)") from None


# --- metrics ---------------------------------------------------------------------------------------

def paired_difference(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, float, float]:
    """Mean of b - a over paired 0/1 outcomes, with its 95 % normal confidence interval."""
    d = correct_b.astype(np.float64) - correct_a.astype(np.float64)
    mean = float(d.mean())
    half = Z95 * float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else 0.0
    return mean, mean - half, mean + half


def top_k(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(best == labels[:, None], axis=1)))


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def precision_recall(matrix: np.ndarray) -> list[dict[str, float | None]]:
    rows = []
    for c in range(matrix.shape[0]):
        predicted, actual = int(matrix[:, c].sum()), int(matrix[c].sum())
        rows.append({"class": c, "support": actual,
                     "precision": None if predicted == 0 else float(matrix[c, c] / predicted),
                     "recall": None if actual == 0 else float(matrix[c, c] / actual)})
    return rows


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """ROC AUC of scores for 0/1 labels (Mann-Whitney, ties counted half)."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    if len(positive) == 0 or len(negative) == 0:
        return None
    order = np.argsort(np.concatenate([positive, negative]), kind="stable")
    values = np.concatenate([positive, negative])[order]
    ranks = np.empty(len(values), np.float64)
    i = 0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_of = np.empty(len(values), np.float64)
    rank_of[order] = ranks
    positive_ranks = rank_of[:len(positive)].sum()
    return float((positive_ranks - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


def error_metrics(reference: np.ndarray, approximation: np.ndarray) -> dict[str, float | None]:
    ref = reference.astype(np.float64).ravel()
    app = approximation.astype(np.float64).ravel()
    norms = float(np.linalg.norm(ref) * np.linalg.norm(app))
    sqnr = sqnr_db(ref, app)
    return {"rmse": float(np.sqrt(np.mean((ref - app) ** 2))), "max_error": float(np.max(np.abs(ref - app))),
            "cosine": float(np.dot(ref, app) / norms) if norms > 0 else 0.0,
            "sqnr_db": None if math.isinf(sqnr) else float(sqnr)}


# --- the evaluation --------------------------------------------------------------------------------

@dataclass
class Evaluation:
    """What `tinygen evaluate` measured; `lines()` prints it, `to_json()` gives the figures."""

    out_dir: str
    data: str
    samples: int
    target: str
    reference: str
    kind: str  # "classifier", "autoencoder" or "regressor"
    output: str
    labelled: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    @property
    def float_accuracy(self) -> float | None:
        return self.metrics.get("float_accuracy")

    @property
    def int8_accuracy(self) -> float | None:
        return self.metrics.get("int8_accuracy")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        m = self.metrics
        lines = [f"evaluate {self.out_dir} on {self.samples} sample(s) of {self.data} "
                 f"(int8 on {self.target}; reference: {self.reference}); output '{self.output}': {self.kind}"]
        if self.kind == "classifier":
            if self.labelled:
                lo, hi = m["difference_ci95"]
                lines.append(f"  accuracy      float {100 * m['float_accuracy']:.2f}%   int8 "
                             f"{100 * m['int8_accuracy']:.2f}%   difference {100 * m['difference']:+.2f} points "
                             f"(95% CI {100 * lo:+.2f} to {100 * hi:+.2f})")
                for k, (f, q) in m["top_k"].items():
                    lines.append(f"  top-{k}         float {100 * f:.2f}%   int8 {100 * q:.2f}%")
            lines.append(f"  agreement     {m['agreement']}/{self.samples} samples with the same top-1 "
                         f"({100 * m['agreement'] / max(1, self.samples):.2f}%); output SQNR "
                         f"{_db(m['output']['sqnr_db'])}")
            if self.labelled:
                lines.append("  per class     class  support  precision float/int8  recall float/int8")
                for f, q in zip(m["per_class_float"], m["per_class_int8"], strict=True):
                    lines.append(f"                {f['class']:>5} {f['support']:>8}  {_pct(f['precision']):>7} / "
                                 f"{_pct(q['precision']):<7}     {_pct(f['recall']):>7} / {_pct(q['recall'])}")
                lines.append("  confusion (int8; rows: label, columns: predicted)")
                matrix = m["confusion_int8"]
                width = max(3, len(str(max(max(row) for row in matrix))))
                lines.append("        " + "".join(f"{c:>{width + 1}}" for c in range(len(matrix))))
                for c, row in enumerate(matrix):
                    lines.append(f"    {c:>3} " + "".join(f"{v:>{width + 1}}" for v in row))
            changed = m["changed"]
            lines.append(f"  changed       {len(changed)} sample(s) predicted differently by int8"
                         + (":" if changed else ""))
            for entry in changed[:CHANGED_SHOWN]:
                label = "" if entry["label"] is None else f", label {entry['label']}"
                lines.append(f"                #{entry['index']}: float {entry['float']} -> int8 "
                             f"{entry['int8']}{label}")
            if len(changed) > CHANGED_SHOWN:
                lines.append(f"                ... {len(changed) - CHANGED_SHOWN} more (--json lists all)")
        else:
            out = m["output"]
            lines.append(f"  int8 vs float RMSE {out['rmse']:.4g}, max error {out['max_error']:.4g}, "
                         f"cosine {out['cosine']:.5f}, SQNR {_db(out['sqnr_db'])}")
            if "target_rmse" in m:
                rmse = m["target_rmse"]
                lines.append(f"  vs targets    RMSE float {rmse['float']:.4g}, int8 {rmse['int8']:.4g}")
            if m.get("auc") is not None:
                lines.append(f"  anomaly AUC   float {m['auc']['float']:.4f}, int8 {m['auc']['int8']:.4f} "
                             "(reconstruction error as the score)")
        lines.append(f"  per layer     {self.hint}")
        return lines


def _db(value: float | None) -> str:
    return "exact (no error)" if value is None else f"{value:.1f} dB"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def evaluate(out_dir: str | Path, data: str | Path, *, labels: str | Path | None = None, target: str = "host",
             subset: int | None = None, top: int = 5) -> Evaluation:
    """Evaluate a compiled model on a dataset (see the module docstring). target: "host" (the host
    simulator) or a PlatformIO env of OUT (e.g. "qemu_m4"), run on the first `subset` samples."""
    model = CompiledModel(out_dir)
    names = [io["name"] for io in model.inputs]
    arrays, y = read_dataset(data, names, labels)
    inputs = {io["name"]: validate_batch(str(data), io["name"], np.asarray(arrays[io["name"]]),
                                         tuple(io["onnx_shape"])) for io in model.inputs}
    count = next(iter(inputs.values())).shape[0]
    if subset is not None:
        count = min(count, subset)
        inputs = {k: v[:count] for k, v in inputs.items()}
        y = None if y is None else y[:count]
    if count == 0:
        raise DataError(f"{data}: no samples")
    tflite = (model.out_dir / ".tinygen" / "model.tflite").exists()
    if tflite:
        reference_outputs = tflite_micro_outputs(model, inputs)
        reference = "tflite-micro running the source .tflite"
    elif (model.out_dir / ".tinygen" / "model.onnx").exists():
        reference_outputs = onnxruntime_outputs(model, inputs)
        reference = "onnxruntime running the source model"
    else:
        raise DataError(f"{out_dir}: no source model kept (built in Python): nothing to evaluate against")
    int8 = model.run(inputs, target=None if target == "host" else target)
    int8_list = int8 if isinstance(int8, dict) else {model.outputs[0]["name"]: int8}
    io = model.outputs[0]
    theirs = reference_outputs[0]
    if theirs.dtype.kind in "iu":  # a quantized source's int8/uint8 output: compare real values
        theirs = model.dequantize(io, theirs.astype(np.int16) - (128 if theirs.dtype == np.uint8 else 0))
    theirs = theirs.astype(np.float32)
    ours = np.asarray(int8_list[io["name"]], np.float32).reshape(theirs.shape)
    input_size = sum(int(np.prod(i["onnx_shape"][1:])) for i in model.inputs)
    output_size = int(np.prod(theirs.shape[1:]))
    scores = theirs.ndim == 2 and 1 < theirs.shape[1] <= 1000 and theirs.shape[1] != input_size
    if scores and (y is None or y.ndim == 1):
        kind = "classifier"
    elif output_size == input_size and len(model.inputs) == 1:
        kind = "autoencoder"
    else:
        kind = "regressor"
    data_text = str(data)
    hint = (f"tinygen report {out_dir} --input {data} shows each layer's SQNR on these inputs (where accuracy is lost)"
            if Path(data).is_file() else
            f"tinygen report {out_dir} --input X.npz (these inputs as one .npz) shows each layer's SQNR")
    result = Evaluation(str(out_dir), data_text, count, target, reference, kind, io["name"], y is not None, hint=hint)
    if kind == "classifier":
        result.metrics = classifier_metrics(theirs, ours, y, top)
    else:
        x = next(iter(inputs.values()))
        result.metrics = regression_metrics(theirs, ours, y, x if kind == "autoencoder" else None)
    return result


def classifier_metrics(float_scores: np.ndarray, int8_scores: np.ndarray, y: np.ndarray | None,
                       top: int = 5) -> dict[str, Any]:
    classes = float_scores.shape[1]
    pf, pq = np.argmax(float_scores, axis=1), np.argmax(int8_scores, axis=1)
    metrics: dict[str, Any] = {"agreement": int(np.sum(pf == pq)), "classes": classes,
                               "output": error_metrics(float_scores, int8_scores)}
    labels: np.ndarray | None = None
    if y is not None:
        labels = y.astype(np.int64)
        if labels.min() < 0 or labels.max() >= classes:
            raise DataError(f"labels range over {int(labels.min())}..{int(labels.max())}, but the model has "
                            f"{classes} classes (0..{classes - 1})")
        cf, cq = pf == labels, pq == labels
        difference, lo, hi = paired_difference(cf, cq)
        metrics.update({
            "float_accuracy": float(cf.mean()), "int8_accuracy": float(cq.mean()),
            "difference": difference, "difference_ci95": [lo, hi],
            "top_k": {str(k): [top_k(float_scores, labels, k), top_k(int8_scores, labels, k)]
                      for k in sorted({1, min(top, classes - 1)}) if k > 1},
            "confusion_float": confusion(labels, pf, classes).tolist(),
            "confusion_int8": confusion(labels, pq, classes).tolist(),
        })
        metrics["per_class_float"] = precision_recall(np.array(metrics["confusion_float"]))
        metrics["per_class_int8"] = precision_recall(np.array(metrics["confusion_int8"]))
    metrics["changed"] = [{"index": int(i), "float": int(pf[i]), "int8": int(pq[i]),
                           "label": None if labels is None else int(labels[i])} for i in np.flatnonzero(pf != pq)]
    return metrics


def regression_metrics(float_out: np.ndarray, int8_out: np.ndarray, y: np.ndarray | None,
                       x: np.ndarray | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {"output": error_metrics(float_out, int8_out)}
    if y is not None and y.size == float_out.size:
        target = y.reshape(float_out.shape).astype(np.float64)
        metrics["target_rmse"] = {"float": float(np.sqrt(np.mean((float_out - target) ** 2))),
                                  "int8": float(np.sqrt(np.mean((int8_out - target) ** 2)))}
    if x is not None:
        flat = x.reshape(x.shape[0], -1).astype(np.float64)
        score_f = np.mean((float_out.reshape(flat.shape) - flat) ** 2, axis=1)
        score_q = np.mean((int8_out.reshape(flat.shape) - flat) ** 2, axis=1)
        metrics["reconstruction_error"] = {"float": float(score_f.mean()), "int8": float(score_q.mean())}
        if y is not None and y.ndim == 1 and set(np.unique(y).tolist()) <= {0, 1}:
            f, q = auc(score_f, y), auc(score_q, y)
            metrics["auc"] = None if f is None or q is None else {"float": f, "int8": q}
    return metrics


def write_json(result: Evaluation, path: str | Path) -> str:
    text = json.dumps(result.to_json(), indent=1) + "\n"
    if str(path) != "-":
        Path(path).write_text(text)
    return text
