"""Calibration: run the float model on the user's data and record each activation's range.

The float model runs in onnxruntime with every tensor tinygen keeps exposed as an output; the
IR's tensors carry their ONNX names, so each one finds its observed values (channels-last or
not does not matter for a per-tensor range). Calibration streams: each sample's activations
update running statistics and are dropped (calibrate_stats.py), so memory does not grow with the
number of samples; the histogram calibrators take a second pass over the data once the range of
every tensor is known.

Calibrators (calibrate_stats.py):
  minmax            the smallest and largest value seen (default);
  percentile:<p>    the (100 - p)-th and p-th percentiles, clipping rare outliers
                    (e.g. percentile:99.99);
  mse               the clipping range with the least expected squared quantization error;
  entropy           the |x| threshold minimizing the KL divergence (TensorRT's method).
The histogram calibrators clip inputs and intermediate tensors only: the model's outputs keep the
whole range seen (the minmax range).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .. import progress
from ..errors import DataError, TinygenError
from ..frontend.loader import LoadedModel
from ..ir import Graph
from ..ops import op_of
from .calibrate_stats import TensorStats, entropy_range, mse_range, percentile_range

RANDOM_SAMPLES = 16
METHODS = "'minmax', 'percentile:<p>' (e.g. percentile:99.99), 'mse' or 'entropy'"


@dataclass(frozen=True)
class Calibrator:
    method: str
    percentile: float | None = None

    @classmethod
    def parse(cls, text: str) -> Calibrator:
        if text in ("minmax", "mse", "entropy"):
            return cls(text)
        if text.startswith("percentile:"):
            try:
                p = float(text.split(":", 1)[1])
            except ValueError:
                p = -1.0
            if not 50.0 < p <= 100.0:
                raise DataError(f"calibration method '{text}': the percentile must be in (50, 100], "
                                "e.g. percentile:99.99")
            return cls("percentile", p)
        raise DataError(f"unknown calibration method '{text}'; use {METHODS}")

    @property
    def uses_histogram(self) -> bool:
        return self.method != "minmax"

    def range_of(self, stats: TensorStats) -> tuple[float, float]:
        if self.method == "minmax" or stats.histogram is None:
            return stats.low, stats.high
        if self.method == "percentile":
            assert self.percentile is not None
            return percentile_range(stats.histogram, stats.bound, stats.low, stats.high, self.percentile)
        if self.method == "mse":
            return mse_range(stats.histogram, stats.bound, stats.low, stats.high)
        return entropy_range(stats.histogram, stats.bound, stats.low, stats.high)


@dataclass
class CalibrationData:
    """The calibration inputs as read, keyed by model input name, each (N, *input_shape[1:]) float32
    in the model's own layout; and what was noticed reading them (for the sanity warnings)."""

    arrays: dict[str, np.ndarray]
    source: str  # the file name, or "random"
    dtypes: dict[str, str] = field(default_factory=dict)  # each array's dtype in the file
    no_batch_axis: list[str] = field(default_factory=list)  # inputs read as one sample without batch axis

    @property
    def count(self) -> int:
        return int(next(iter(self.arrays.values())).shape[0])

    def split(self, indices: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(the samples at `indices`, the others)."""
        keep = np.ones(self.count, bool)
        keep[indices] = False
        return ({k: v[indices] for k, v in self.arrays.items()}, {k: v[keep] for k, v in self.arrays.items()})


# What `calib=` takes: a .npy/.npz path, "random", or (from Python) the arrays themselves: one array
# (N, ...) for a one-input model, or a mapping keyed by input name (or 'x', as in a samples file).
CalibSpec = str | Path | np.ndarray | Mapping[str, np.ndarray]


def read_calibration(spec: CalibSpec, loaded: LoadedModel, warn: Callable[[str], None] | None = None
                     ) -> CalibrationData:
    """Calibration inputs from a .npy/.npz path, arrays given in Python, or 'random' (fixed seed, with
    a warning)."""
    inputs = {name: loaded.values[name].shape for name in loaded.input_names}
    if isinstance(spec, np.ndarray | Mapping):
        source = where = "arrays given in Python"  # the record's label / where errors point
        arrays = _given_arrays(spec, list(inputs))
    elif not isinstance(spec, str | Path):
        raise DataError(f"calib: expected a .npy/.npz path, 'random', a numpy array or a dict of arrays; got "
                        f"{type(spec).__name__}")
    elif str(spec) == "random":
        (warn or _stderr)(
            "WARNING: calibrating on random data (--calib random). The int8 model's accuracy is "
            "meaningless; use it only to try the toolchain. Pass --calib FILE with real inputs.")
        rng = np.random.default_rng(0)
        return CalibrationData({name: rng.standard_normal((RANDOM_SAMPLES, *shape[1:])).astype(np.float32)
                                for name, shape in inputs.items()}, "random",
                               {name: "float32" for name in inputs})
    else:
        source, where = Path(spec).name, str(spec)
        arrays = _read_arrays(where, list(inputs))
    dtypes = {name: str(arrays[name].dtype) for name in inputs}
    # validate_batch reads an array shaped like one sample as a batch of one
    no_batch = [name for name in inputs if tuple(arrays[name].shape) == tuple(inputs[name][1:])
                and tuple(arrays[name].shape) != tuple(inputs[name])]
    return CalibrationData({name: validate_batch(where, name, arrays[name], inputs[name]) for name in inputs},
                           source, dtypes, no_batch)


def _given_arrays(given: np.ndarray | Mapping[str, np.ndarray], input_names: list[str]) -> dict[str, np.ndarray]:
    """Arrays passed as calib= in Python, keyed by input name, with the rules of a .npy/.npz file."""
    if isinstance(given, np.ndarray):
        if len(input_names) != 1:
            raise DataError(f"calib: one array, but the model has inputs {input_names}; pass a dict keyed by "
                            "input name")
        return {input_names[0]: given}
    keys = list(given)
    if all(name in keys for name in input_names):
        return {name: np.asarray(given[name]) for name in input_names}
    if len(input_names) == 1 and ("x" in keys or len(keys) == 1):
        return {input_names[0]: np.asarray(given["x" if "x" in keys else keys[0]])}
    missing = [name for name in input_names if name not in keys]
    raise DataError(f"calib: no array for model input(s) {missing}; the dict has keys {keys}")


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
                   integer: bool = False, integer_type: str = "int8") -> np.ndarray:
    """Check a batch (N, *shape[1:]) for input `name`: shape, dtype (`integer_type` when `integer`: the input's
    storage type, int8 or int16), finite values."""
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
        if array.dtype != np.dtype(integer_type):
            raise DataError(f"{path}: input '{name}' has dtype {array.dtype}; --int8 expects {integer_type} "
                            "(the input's quantized type)")
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


class FloatRunner:
    """The float model in onnxruntime with chosen intermediate tensors exposed as outputs."""

    def __init__(self, loaded: LoadedModel, names: list[str]):
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
            self.session = ort.InferenceSession(model.SerializeToString(), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise TinygenError(f"{loaded.path}: onnxruntime cannot load the float model: {_first_line(exc)}",
                               hint="tinygen calibrates by running the float model in onnxruntime; re-export the "
                                    "model in a form onnxruntime accepts.") from None
        self.path = loaded.path
        available = [o.name for o in self.session.get_outputs()]
        self.wanted = [n for n in names if n in available]

    def stream(self, data: dict[str, np.ndarray], label: str) -> Iterator[dict[str, np.ndarray]]:
        """Each sample's exposed tensors, one sample at a time (nothing is kept)."""
        if not self.wanted:  # nothing to observe (session.run would return every output for an empty list)
            return
        count = next(iter(data.values())).shape[0]
        with progress.task(label, count) as advance:
            for i in range(count):
                feed = {name: batch[i:i + 1] for name, batch in data.items()}
                try:
                    results = self.session.run(self.wanted, feed)
                except Exception as exc:
                    # valid ONNX that onnxruntime cannot execute (a kernel it lacks)
                    raise TinygenError(f"{self.path}: onnxruntime fails running the float model on sample {i}: "
                                       f"{_first_line(exc)}",
                                       hint="tinygen calibrates by running the float model in onnxruntime; "
                                            "re-export the model in a form onnxruntime runs.") from None
                yield {name: np.asarray(value, dtype=np.float32)
                       for name, value in zip(self.wanted, results, strict=True)}
                advance(1)


def observe(loaded: LoadedModel, names: list[str], data: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Run the float model on every sample, returning each named tensor's values per sample (for a
    few samples: per-layer comparisons; calibration streams instead)."""
    runner = FloatRunner(loaded, names)
    observed: dict[str, list[np.ndarray]] = {n: [] for n in runner.wanted}
    for values in runner.stream(data, "running the float model"):
        for name, value in values.items():
            observed[name].append(value)
    return observed


@dataclass
class Calibration:
    """The outcome: a range per tensor, and the statistics behind the sanity checks."""

    ranges: dict[str, tuple[float, float]]
    stats: dict[str, TensorStats]

    def record(self, names: list[str]) -> dict[str, Any]:
        """Statistics of the named tensors for the manifest (the inputs, per channel when few)."""
        out = {}
        for name in names:
            stats = self.stats[name]
            channels = stats.channel_summary()
            out[name] = {**stats.summary(), "range": list(self.ranges.get(name, (stats.low, stats.high))),
                         "channels": channels if len(channels) <= 64 else []}
        return out


def calibrate(loaded: LoadedModel, graph: Graph, data: dict[str, np.ndarray], calibrator: Calibrator,
              divisors: dict[str, np.ndarray] | None = None, watch: tuple[str, ...] = ()) -> Calibration:
    """The float range of every IR activation that has an ONNX counterpart, by `calibrator`.
    divisors: per-channel factors a tensor's values are divided by (cross-layer equalization
    rescaled those channels in the IR). watch: further ONNX tensors whose per-channel statistics the
    sanity checks want."""
    divisors = divisors or {}
    names = [t.name for t in graph.activations() if t.name in loaded.values]
    # Ops with internal state (LSTM, GRU) run their own float recurrence on their input: theirs is
    # the one tensor kept whole (a sequence per sample, small), the rest is streamed.
    stateful = [node for node in graph.nodes if op_of(node).has_state]
    kept: dict[str, list[np.ndarray]] = {node.inputs[0]: [] for node in stateful}
    runner = FloatRunner(loaded, names + [n for n in [*watch, *kept] if n not in names])
    inputs = [name for name in graph.inputs if name in data]
    stats = {name: TensorStats(channel_divisor=divisors.get(name)) for name in inputs + runner.wanted}
    for name in inputs:
        stats[name].update(data[name], channels=True)
    for values in runner.stream(data, "running the float model"):
        for name, value in values.items():
            stats[name].update(value, channels=name in watch)
            if name in kept:
                kept[name].append(value)
    if calibrator.uses_histogram:
        for entry in stats.values():
            entry.start_histogram()
        for name in inputs:
            stats[name].add_to_histogram(data[name])
        for values in runner.stream(data, "histograms of the float model's tensors"):
            for name, value in values.items():
                stats[name].add_to_histogram(value)
    # The model's outputs keep their whole observed range whatever the calibrator: clipping logits
    # would tie the largest scores, and the decision is made on exactly those outliers.
    ranges = {name: calibrator.range_of(stats[name]) for name in inputs}
    ranges.update({name: (stats[name].low, stats[name].high) if name in graph.outputs
                   else calibrator.range_of(stats[name]) for name in runner.wanted if name in names})
    for node in stateful:
        source = node.inputs[0]
        samples = kept[source] or [data[source][i:i + 1] for i in range(len(data.get(source, [])))]
        ranges.update(op_of(node).observe_ranges(node, graph, samples))
    return Calibration(ranges, stats)
