"""Calibration: run the float model on the user's data and record each activation's range.

The float model runs in onnxruntime with every tensor tinygen keeps exposed as an output; the
IR's tensors carry their ONNX names, so each one finds its observed values (channels-last or
not does not matter for a per-tensor range).

Calibrators:
  minmax            the smallest and largest value seen (default);
  percentile:<p>    the (100 - p)-th and p-th percentiles, clipping rare outliers
                    (e.g. percentile:99.99).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx

from .. import progress
from ..errors import DataError, TinygenError
from ..frontend.loader import LoadedModel
from ..ir import Graph

RANDOM_SAMPLES = 16
PERCENTILE_SAMPLE_CAP = 1 << 20  # values kept per tensor for percentile calibration


@dataclass(frozen=True)
class Calibrator:
    method: str
    percentile: float | None = None

    @classmethod
    def parse(cls, text: str) -> Calibrator:
        if text == "minmax":
            return cls("minmax")
        if text.startswith("percentile:"):
            try:
                p = float(text.split(":", 1)[1])
            except ValueError:
                p = -1.0
            if not 50.0 < p <= 100.0:
                raise DataError(f"calibration method '{text}': the percentile must be in (50, 100], "
                                "e.g. percentile:99.99")
            return cls("percentile", p)
        raise DataError(f"unknown calibration method '{text}'; use 'minmax' or 'percentile:<p>'")


def load_calibration_data(spec: str, loaded: LoadedModel,
                          warn: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Calibration inputs keyed by model input name, each (N, *input_shape[1:]) float32, in the
    model's own layout. `spec` is a .npy/.npz path or 'random'."""
    inputs = {name: loaded.values[name].shape for name in loaded.input_names}
    if spec == "random":
        (warn or _stderr)(
            "WARNING: calibrating on random data (--calib random). The int8 model's accuracy is "
            "meaningless; use it only to try the toolchain. Pass --calib FILE with real inputs.")
        rng = np.random.default_rng(0)
        return {name: rng.standard_normal((RANDOM_SAMPLES, *shape[1:])).astype(np.float32)
                for name, shape in inputs.items()}
    arrays = _read_arrays(spec, list(inputs))
    return {name: validate_batch(spec, name, arrays[name], inputs[name]) for name in inputs}


def _read_arrays(path: str, input_names: list[str]) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npy/.npz file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        if len(input_names) != 1:
            raise DataError(f"{path}: a .npy holds one array, but the model has inputs "
                            f"{input_names}; use a .npz keyed by input name")
        return {input_names[0]: loaded}
    with loaded:
        keys = list(loaded.keys())
        if all(name in keys for name in input_names):
            return {name: loaded[name] for name in input_names}
        if len(input_names) == 1:
            # A one-input model also accepts the conventional key 'x', or the file's only array.
            numeric = [k for k in keys if loaded[k].dtype.kind in "fiu"]
            key = "x" if "x" in keys else (numeric[0] if len(numeric) == 1 else None)
            if key is not None:
                return {input_names[0]: loaded[key]}
        missing = [name for name in input_names if name not in keys]
        raise DataError(f"{path}: no array for model input(s) {missing}; the file has {keys}")


def validate_batch(path: str, name: str, array: np.ndarray, shape: tuple[int, ...],
                   integer: bool = False) -> np.ndarray:
    """Check a batch (N, *shape[1:]) for input `name`: shape, dtype, finite values."""
    expected = tuple(shape[1:])
    if tuple(array.shape) == tuple(shape) and shape[0] == 1 and array.ndim == len(shape):
        pass
    elif tuple(array.shape[1:]) != expected:
        if tuple(array.shape) == expected:
            array = array[None]
        else:
            raise DataError(f"{path}: input '{name}' has shape {list(array.shape)}; expected "
                            f"(N, {', '.join(map(str, expected))}) in the model's layout")
    if array.shape[0] == 0:
        raise DataError(f"{path}: input '{name}' holds no samples")
    if integer:
        if array.dtype != np.int8:
            raise DataError(f"{path}: input '{name}' has dtype {array.dtype}; --int8 expects int8")
        return np.ascontiguousarray(array)
    if array.dtype.kind not in "fiu":
        raise DataError(f"{path}: input '{name}' has dtype {array.dtype}; expected float values")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise DataError(f"{path}: input '{name}' contains {bad} NaN or infinite value(s)")
    return np.ascontiguousarray(array)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def observe(loaded: LoadedModel, names: list[str], data: dict[str, np.ndarray],
            on_sample: Callable[[Callable[[np.ndarray], None] | None], None] | None = None,
            ) -> dict[str, list[np.ndarray]]:
    """Run the float model on every sample, returning each named tensor's values per sample."""
    import onnxruntime as ort

    model = onnx.ModelProto()
    model.CopyFrom(loaded.model)
    existing = {o.name for o in model.graph.output}
    value_infos = {v.name: v for v in model.graph.value_info}
    for name in names:
        if name not in existing and name in value_infos:
            model.graph.output.append(value_infos[name])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one thread: reductions in a fixed order, reproducible ranges
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise TinygenError(f"{loaded.path}: onnxruntime cannot load the float model: {_first_line(exc)}",
                           hint="tinygen calibrates by running the float model in onnxruntime; re-export the "
                                "model in a form onnxruntime accepts.") from None
    available = [o.name for o in session.get_outputs()]
    wanted = [n for n in names if n in available]
    count = next(iter(data.values())).shape[0]
    observed: dict[str, list[np.ndarray]] = {n: [] for n in wanted}
    if not wanted:  # nothing to observe (session.run would return every output for an empty list)
        return observed
    with progress.task("running the float model", count) as advance:
        for i in range(count):
            feed = {name: batch[i:i + 1] for name, batch in data.items()}
            try:
                results = session.run(wanted, feed)
            except Exception as exc:  # valid ONNX that onnxruntime cannot execute (a kernel it lacks)
                raise TinygenError(f"{loaded.path}: onnxruntime fails running the float model on sample {i}: "
                                   f"{_first_line(exc)}",
                                   hint="tinygen calibrates by running the float model in onnxruntime; "
                                        "re-export the model in a form onnxruntime runs.") from None
            for name, value in zip(wanted, results, strict=True):
                observed[name].append(np.asarray(value, dtype=np.float32))
            advance(1)
    return observed


def calibrate(loaded: LoadedModel, graph: Graph, data: dict[str, np.ndarray],
              calibrator: Calibrator) -> dict[str, tuple[float, float]]:
    """The observed float range of every IR activation that has an ONNX counterpart."""
    names = [t.name for t in graph.activations() if t.name in loaded.values]
    observed = observe(loaded, names, data)
    ranges = {name: _range(data[name].ravel(), calibrator) for name in graph.inputs if name in data}
    for name, values in observed.items():
        ranges[name] = _range(np.concatenate([v.ravel() for v in values]), calibrator)
    return ranges


def _range(values: np.ndarray, calibrator: Calibrator) -> tuple[float, float]:
    if calibrator.method == "minmax":
        return float(values.min()), float(values.max())
    if values.size > PERCENTILE_SAMPLE_CAP:
        rng = np.random.default_rng(0)
        values = rng.choice(values, PERCENTILE_SAMPLE_CAP, replace=False)
    p = calibrator.percentile
    assert p is not None
    low, high = np.percentile(values, [100.0 - p, p])
    return float(low), float(high)
