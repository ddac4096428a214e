"""Calibration data that cannot silently be wrong: the checks behind the compile-time warnings.

Data checks: too few samples, integer arrays (raw pixels or counts where the network may expect
normalized floats), an array read as one sample because it has no batch axis.

Range checks, where the model itself says what its first layer expects:
  - a normalization at the input (Sub/Div/Mul/Add by constants): the normalized calibration data
    should spread over about unit scale, not 100x more or less;
  - BatchNormalization right after the first convolution: its running statistics are the mean and
    variance that convolution's output had on the training data. The calibration data's own
    per-channel spread of that tensor, far from them (median ratio beyond RATIO_LIMIT), means the
    data is on another scale than the training data (0-255 pixels for a network trained on 0-1,
    say).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frontend.loader import LoadedModel
from .calibrate import Calibration, CalibrationData

MIN_SAMPLES = 32
RATIO_LIMIT = 8.0  # a spread this many times larger or smaller than expected gets a warning
NORMALIZED_SPREAD = (1.0 / 30.0, 30.0)  # the std of normalized inputs outside this looks wrong
PASS_THROUGH = {"Reshape", "Transpose", "Unsqueeze", "Squeeze", "Identity", "Pad", "Flatten"}
NORMALIZING = {"Sub", "Div", "Mul", "Add"}


@dataclass
class BatchNormHint:
    conv_output: str  # the ONNX tensor between the first Conv and its BatchNormalization
    mean: np.ndarray
    var: np.ndarray


def data_warnings(data: CalibrationData, model_dtypes: dict[str, str]) -> list[str]:
    warnings = []
    if data.source != "random" and data.count < MIN_SAMPLES:
        warnings.append(
            f"only {data.count} calibration sample(s) in {data.source}: activation ranges from so few inputs "
            f"miss values real inputs produce, and the int8 model clips them. Pass at least {MIN_SAMPLES} "
            "representative inputs (a few hundred is better), e.g. from your training set.")
    for name, dtype in data.dtypes.items():
        if np.dtype(dtype).kind in "iu" and np.dtype(model_dtypes.get(name, "float32")).kind == "f":
            warnings.append(
                f"the calibration array for input '{name}' has integer dtype {dtype}, but the model takes "
                f"{model_dtypes.get(name, 'float32')}: if the network was trained on normalized values (0-1, or "
                "mean/std), apply the same preprocessing before saving the file; tinygen uses the numbers as given.")
    for name in data.no_batch_axis:
        warnings.append(
            f"the calibration array for input '{name}' has no batch axis: it was read as ONE sample. Save a "
            "batch (N, ...) of inputs, e.g. np.stack(samples).")
    return warnings


def batchnorm_hints(loaded: LoadedModel) -> list[BatchNormHint]:
    """The first convolutions after a model input that feed a BatchNormalization with constant
    statistics."""
    graph = loaded.model.graph
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    hints = []
    frontier = list(loaded.input_names)
    seen: set[str] = set()
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in consumers.get(name, []):
            if node.op_type in PASS_THROUGH and node.input[0] == name:
                frontier.extend(node.output)
            elif node.op_type == "Conv" and node.input[0] == name:
                after = consumers.get(node.output[0], [])
                if len(after) == 1 and after[0].op_type == "BatchNormalization":
                    bn = after[0]
                    mean, var = loaded.constants.get(bn.input[3]), loaded.constants.get(bn.input[4])
                    if mean is not None and var is not None and mean.ndim == 1 and mean.shape == var.shape:
                        hints.append(BatchNormHint(node.output[0], mean.astype(np.float64), var.astype(np.float64)))
    return hints


def range_warnings(loaded: LoadedModel, calibration: Calibration, data: dict[str, np.ndarray],
                   hints: list[BatchNormHint]) -> list[str]:
    warnings = []
    for hint in hints:
        stats = calibration.stats.get(hint.conv_output)
        channels = stats.channel_summary() if stats is not None else []
        if len(channels) != len(hint.var):
            continue
        expected = np.sqrt(np.maximum(hint.var, 0.0))
        seen = np.array([c["std"] for c in channels])
        means = np.array([c["mean"] for c in channels])
        live = expected > 1e-6
        if not np.any(live):
            continue
        ratio = float(np.median(seen[live] / expected[live]))
        offset = float(np.median(np.abs(means[live] - hint.mean[live]) / expected[live]))
        if ratio > RATIO_LIMIT or ratio < 1.0 / RATIO_LIMIT:
            warnings.append(
                f"the calibration data looks {_factor(ratio)} the data the network was trained on: the first "
                f"convolution's output spreads {ratio:.3g}x what its BatchNormalization statistics say (median "
                "over channels). Check the preprocessing (scaling such as /255, mean/std normalization) matches "
                "training; the int8 model is calibrated for this data and will be wrong on correctly scaled inputs.")
        elif offset > RATIO_LIMIT:
            warnings.append(
                f"the calibration data looks shifted from the data the network was trained on: the first "
                f"convolution's output mean is {offset:.3g} standard deviations from its BatchNormalization "
                "statistics (median over channels). Check the preprocessing (mean subtraction) matches training.")
    warnings += _normalization_warnings(loaded, data)
    return warnings


def _factor(ratio: float) -> str:
    return f"about {ratio:.3g}x larger than" if ratio > 1 else f"about {1 / ratio:.3g}x smaller than"


def _normalization_warnings(loaded: LoadedModel, data: dict[str, np.ndarray]) -> list[str]:
    """An input normalized by constants in the model: the normalized data should be near unit scale."""
    warnings = []
    graph = loaded.model.graph
    for name in loaded.input_names:
        if name not in data:
            continue
        values = data[name][:64].astype(np.float64)
        current, steps = name, []
        for _ in range(3):
            users = [n for n in graph.node if current in n.input]
            if len(users) != 1 or users[0].op_type not in NORMALIZING or len(users[0].input) != 2:
                break
            node = users[0]
            other = node.input[1] if node.input[0] == current else node.input[0]
            constant = loaded.constants.get(other)
            if constant is None:
                break
            constant = constant.astype(np.float64)
            first = node.input[0] == current
            if node.op_type == "Sub":
                values = values - constant if first else constant - values
            elif node.op_type == "Add":
                values = values + constant
            elif node.op_type == "Mul":
                values = values * constant
            else:
                if not first or np.any(constant == 0):
                    break
                values = values / constant
            steps.append(node.op_type)
            current = node.output[0]
        if not steps:
            continue
        spread = float(np.std(values))
        low, high = NORMALIZED_SPREAD
        if spread > 0 and not low <= spread <= high:
            raw = float(np.std(data[name][:64]))
            warnings.append(
                f"input '{name}' is normalized inside the model ({' then '.join(steps)} by constants), and the "
                f"calibration data comes out of it with a spread (std) of {spread:.3g} where about 1 is expected "
                f"(the data's own std is {raw:.3g}): the data may already be normalized, or scaled differently "
                "from training. Pass inputs exactly as the model takes them before its normalization.")
    return warnings
