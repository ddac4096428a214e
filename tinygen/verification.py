"""`tinygen verify`: golden reference vs the generated C, bit for bit, and int8 vs float.
The Python API's tinygen.verify(out_dir, inputs=None) -> VerifyReport (tinygen/api.py) calls verify_model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .model import CompiledModel
from .quantize.calibrate import validate_batch


@dataclass
class VerifyReport:
    identical: bool
    samples: int
    lines: list[str] = field(default_factory=list)
    mismatch: str | None = None
    top1: tuple[int, int] | None = None  # (agreeing, total) on the first output
    sqnr_db: list[float] = field(default_factory=list)
    accuracy: tuple[float, float] | None = None  # (float, int8) on labelled inputs
    agrees: bool | None = None  # the verdict: int8 close to float (None: no float comparison)


def first_mismatch(expected: np.ndarray, actual: np.ndarray, label: str) -> str | None:
    """A one-line description of the first differing element, or None if identical."""
    if expected.shape != actual.shape:
        return f"{label}: shape {list(actual.shape)} != expected {list(expected.shape)}"
    diff = np.argwhere(expected != actual)
    if len(diff) == 0:
        return None
    where = tuple(int(i) for i in diff[0])
    return (f"{label}: {len(diff)} of {expected.size} values differ; first at index {list(where)}: "
            f"expected {expected[where]}, got {actual[where]}")


def sqnr_db(reference: np.ndarray, approximation: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio: 10 log10(sum ref^2 / sum (ref - approx)^2)."""
    noise = float(np.sum((reference.astype(np.float64) - approximation.astype(np.float64)) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    if noise == 0.0:
        return float("inf")
    return 10.0 * np.log10(max(signal, 1e-30) / noise)


def onnxruntime_outputs(model: CompiledModel, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The source model's outputs in onnxruntime, one array per output. Inputs are real values;
    a quantized model's int8/uint8 inputs get them quantized with the model's parameters."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model.out_dir / ".tinygen" / "model.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    feeds = {}
    for io, spec in zip(model.inputs, session.get_inputs(), strict=True):
        x = inputs[io["name"]]
        if spec.type in ("tensor(int8)", "tensor(uint8)"):
            x = model.quantize(io, x)
            x = (x.astype(np.int16) + 128).astype(np.uint8) if spec.type == "tensor(uint8)" else x
        feeds[spec.name] = x
    names = [o.name for o in session.get_outputs()]
    count = next(iter(feeds.values())).shape[0]
    results: list[list[np.ndarray]] = [[] for _ in names]
    for i in range(count):
        for k, value in enumerate(session.run(names, {name: x[i:i + 1] for name, x in feeds.items()})):
            results[k].append(np.asarray(value))
    return [np.concatenate(r) for r in results]


# Inputs to check on: a .npy/.npz path, or (from Python) an array (N, ...) for a one-input model or a
# mapping keyed by input name ('x' and 'y' as in a samples file); None: the samples kept at compile time.
Inputs = Path | str | np.ndarray | Mapping[str, np.ndarray] | None


def inputs_label(source: Inputs) -> str:
    """How messages name the inputs: the file, or 'the arrays given'."""
    return "the arrays given" if isinstance(source, np.ndarray | Mapping) else str(source)


def load_inputs(model: CompiledModel, path: Inputs) -> dict[str, np.ndarray]:
    if path is None:
        with model.samples() as kept:
            return {io["name"]: kept[io["name"]] for io in model.inputs}
    from .serialize import load_array_file

    data: Any = dict(path) if isinstance(path, Mapping) else path if isinstance(path, np.ndarray) else \
        load_array_file(Path(path))
    names = [io["name"] for io in model.inputs]
    if isinstance(data, dict):
        if len(names) == 1 and names[0] not in data:
            key = "x" if "x" in data else next(iter(data))
            data = {names[0]: data[key]}
    else:
        data = {names[0]: data}
    missing = [name for name in names if name not in data]
    if missing:
        raise DataError(f"{inputs_label(path)}: no array for model input(s) {missing}")
    return {io["name"]: validate_batch(inputs_label(path), io["name"], np.asarray(data[io["name"]]),
                                       tuple(io["onnx_shape"]))
            for io in model.inputs}


AGREEMENT_SQNR_DB = 20.0  # below this output SQNR the int8 model is not said to agree with float
AGREEMENT_TOP1 = 0.95  # nor below this share of equal top-1 decisions


def load_labels(path: Inputs) -> np.ndarray | None:
    """The `y` array of an .npz input file (or of a mapping given in Python), if it has one (class labels)."""
    if isinstance(path, Mapping):
        return np.asarray(path["y"]) if "y" in path else None
    if path is None or isinstance(path, np.ndarray) or Path(path).suffix != ".npz":
        return None
    from .serialize import load_array_file

    data: Any = load_array_file(Path(path))
    return np.asarray(data["y"]) if isinstance(data, dict) and "y" in data else None


def verify_model(out_dir: str | Path, input_path: Inputs = None) -> VerifyReport:
    model = CompiledModel(out_dir)
    inputs = load_inputs(model, input_path)
    report = _verify(model, inputs, input_path)
    verdict(model, report, input_path, load_labels(input_path))
    return report


def verdict(model: CompiledModel, report: VerifyReport, input_path: Inputs, labels: np.ndarray | None) -> None:
    """Accuracy on labels, and whether int8 can be said to agree with float on these samples."""
    calibration = model.manifest.get("calibration") or {}
    for text in calibration.get("warnings") or []:
        report.lines.append(f"WARNING (from compile): {text}")
    if report.agrees is None:
        return
    if labels is not None and report.top1 is not None and report.accuracy is not None:
        float_acc, int8_acc = report.accuracy
        given = Path(inputs_label(input_path)).name if input_path is not None else "the input"
        report.lines.append(f"accuracy on the labels in {given}: float "
                            f"{100 * float_acc:.2f}%, int8 {100 * int8_acc:.2f}% ({100 * (int8_acc - float_acc):+.2f} "
                            "points; `tinygen evaluate` gives per-class figures)")
    sqnr = min(report.sqnr_db) if report.sqnr_db else None
    if not report.agrees:
        figures = ", ".join(([f"SQNR {sqnr:.1f} dB"] if sqnr is not None else [])
                            + ([f"top-1 {report.top1[0]}/{report.top1[1]}"] if report.top1 else []))
        report.lines.append("verdict: the int8 model does NOT agree with the float model on these samples "
                            f"({figures}). Check that the calibration data has the preprocessing and scale of "
                            "real inputs "
                            f"(`tinygen report {model.out_dir}` shows its range), then try --calib-method mse or "
                            "percentile:99.99; `tinygen report --input` shows the layer where it goes wrong.")
        return
    held_out = input_path is None and calibration.get("verify_samples") == "held-out"
    where = ("samples held out from calibration" if held_out else "these inputs" if input_path is not None else
             "random inputs (compiled without data)" if not calibration.get("samples") else
             "CALIBRATION samples, which says nothing about new data: check real test inputs with "
             "`tinygen verify OUT --input test.npz` or `tinygen evaluate`")
    if calibration.get("warnings") and input_path is None:
        report.lines.append(f"verdict: inconclusive: int8 matches float on {where}, but those come from the same "
                            "calibration data the WARNING above is about; check real, correctly prepared inputs with "
                            f"`tinygen verify {model.out_dir} --input test.npz` or `tinygen evaluate`")
        return
    report.lines.append(f"verdict: the int8 model agrees with the float model on {where}")


def _verify(model: CompiledModel, inputs: dict[str, np.ndarray], input_path: Inputs) -> VerifyReport:
    count = next(iter(inputs.values())).shape[0]
    quantized = {io["name"]: model.quantize(io, inputs[io["name"]]) for io in model.inputs}
    golden_q = model.golden(quantized, int8=True)
    host_q = model.run(quantized, int8=True)
    golden_list = golden_q if isinstance(golden_q, dict) else {model.outputs[0]["name"]: golden_q}
    host_list = host_q if isinstance(host_q, dict) else {model.outputs[0]["name"]: host_q}
    report = VerifyReport(True, count)
    for io in model.outputs:
        problem = first_mismatch(golden_list[io["name"]], host_list[io["name"]], f"output '{io['name']}'")
        if problem:
            report.identical = False
            report.mismatch = report.mismatch or f"MISMATCH golden vs host C: {problem}"
    report.lines.append(f"golden reference vs host C on {count} sample(s): "
                        + ("identical (bit-exact)" if report.identical else "DIFFERENT"))
    if (model.out_dir / ".tinygen" / "model.tflite").exists():  # a .tflite source: TFLM is the reference
        return compare_with_tflite_micro(model, inputs, host_list, report)
    try:
        reference = onnxruntime_outputs(model, inputs)
    except Exception as exc:  # the float comparison is informative; never fail verify on it
        report.lines.append(f"comparison with onnxruntime skipped: {exc}")
        return report
    labels = load_labels(input_path)
    report.agrees = True
    input_size = sum(int(np.prod(i["onnx_shape"])) for i in model.inputs)
    for io, theirs in zip(model.outputs, reference, strict=True):
        ours_q = host_list[io["name"]].reshape(theirs.shape)
        classifier = theirs.ndim == 2 and 1 < theirs.shape[1] <= 1000 and theirs.shape[1] != input_size
        if theirs.dtype in (np.int8, np.uint8):  # a quantized model: compare in output steps
            theirs_q = theirs.astype(np.int16) - (128 if theirs.dtype == np.uint8 else 0)
            steps = np.abs(theirs_q - ours_q.astype(np.int16))
            line = (f"vs onnxruntime running the quantized model (float rescaling) output '{io['name']}': "
                    f"{100 * float(np.mean(steps == 0)):.1f}% exact, max {int(steps.max())} step(s)")
        else:
            ours = model.dequantize(io, ours_q)
            sqnr = sqnr_db(theirs, ours)
            report.sqnr_db.append(sqnr)
            report.agrees = bool(report.agrees and sqnr >= AGREEMENT_SQNR_DB)
            line = f"int8 vs float (onnxruntime) output '{io['name']}': SQNR {sqnr:.1f} dB"
        if classifier:
            agree = int(np.sum(np.argmax(theirs, axis=1) == np.argmax(ours_q, axis=1)))
            if report.top1 is None:
                report.top1 = (agree, count)
                if labels is not None and labels.shape == (count,) and labels.dtype.kind in "iu":
                    report.accuracy = (float(np.mean(np.argmax(theirs, axis=1) == labels)),
                                       float(np.mean(np.argmax(ours_q, axis=1) == labels)))
            report.agrees = bool(report.agrees and agree >= AGREEMENT_TOP1 * count)
            line += f", top-1 agreement {agree}/{count}"
        report.lines.append(line)
    return report


def tflite_micro_outputs(model: CompiledModel, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The source .tflite's outputs in the `tflite-micro` interpreter (TFLM's reference kernels), one
    array per output. Inputs are real values, quantized with the model's parameters where the file
    takes int8 (a float input goes in as it is: the file's QUANTIZE does the same rounding)."""
    from tflite_micro.python.tflite_micro import runtime

    data = (model.out_dir / ".tinygen" / "model.tflite").read_bytes()
    # The interpreter's default arena (10x the file) is too small for small 16x8 models: at least 1 MiB.
    interpreter = runtime.Interpreter.from_bytes(data, arena_size=max(10 * len(data), 1 << 20))
    feeds = []
    for index, io in enumerate(model.inputs):
        x = inputs[io["name"]]
        dtype = np.dtype(interpreter.get_input_details(index)["dtype"])
        feeds.append(model.quantize(io, x) if dtype in (np.int8, np.int16) else x.astype(dtype))
    results: list[list[np.ndarray]] = [[] for _ in model.outputs]
    for i in range(feeds[0].shape[0]):
        interpreter.reset()  # each sample from TFLM's initial state: an LSTM's state variables carry over otherwise
        for index, x in enumerate(feeds):
            interpreter.set_input(x[i:i + 1], index)
        interpreter.invoke()
        for k in range(len(model.outputs)):
            results[k].append(np.array(interpreter.get_output(k)))
    return [np.concatenate(r) for r in results]


def compare_with_tflite_micro(model: CompiledModel, inputs: dict[str, np.ndarray],
                              host: dict[str, np.ndarray], report: VerifyReport) -> VerifyReport:
    """tinygen promises TFLM's bytes for a .tflite model: any difference fails verify."""
    try:
        reference = tflite_micro_outputs(model, inputs)
    except ImportError:
        report.lines.append("comparison with tflite-micro skipped: the `tflite-micro` package is not installed "
                            "(pip install tflite-micro)")
        return report
    for io, theirs in zip(model.outputs, reference, strict=True):
        ours_q = host[io["name"]].reshape(theirs.shape)
        # A float output is the file's DEQUANTIZE: the same float32 product as tinygen's dequantize.
        ours = ours_q if theirs.dtype in (np.int8, np.int16) else model.dequantize(io, ours_q).astype(theirs.dtype)
        same = ours == theirs
        line = (f"vs tflite-micro (the source .tflite) output '{io['name']}': "
                f"{100 * float(np.mean(same)):.1f}% exact")
        problem = first_mismatch(theirs, ours, f"output '{io['name']}'")
        if problem:
            report.identical = False
            report.mismatch = report.mismatch or f"MISMATCH host C vs tflite-micro: {problem}"
        if theirs.ndim == 2 and 1 < theirs.shape[1] <= 1000:
            agree = int(np.sum(np.argmax(theirs, axis=1) == np.argmax(ours, axis=1)))
            report.top1 = report.top1 or (agree, theirs.shape[0])
        report.lines.append(line)
    return report
