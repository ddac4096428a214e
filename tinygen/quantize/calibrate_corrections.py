"""Optional accuracy corrections around calibration (`--equalize`, `--bias-correction`).

Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019) on the float IR, before
calibration: for a convolution A whose output feeds only convolution B through a ReLU or nothing
(ReLU(x / s) = ReLU(x) / s for s > 0), output channel c of A is divided by s_c and input channel c
of B multiplied by it, s_c = sqrt(r1_c / r2_c) with r1_c, r2_c the largest |weight| of A's output
channel and of B's input channel. Both then span the same range per channel, so per-channel weight
quantization loses less on the channels a depthwise layer shrinks (MobileNet-style chains), and the
tensor between them becomes more even across channels for its per-tensor activation scale. The
model's function is unchanged; the tensor between A and B holds x_c / s_c, which calibration
accounts for (`divisors`, applied to the float model's observed values).

Bias correction (empirical, after quantization): run the int8 golden reference and the float model
on calibration samples, layer by layer in order; each convolution's / fully connected layer's mean
output error per channel (over positions where the float output is not clamped by a fused
activation) is taken out of its int32 bias, before the next layer is measured.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..arith import dequantize
from ..frontend.loader import LoadedModel
from ..ir import Graph, Node
from .calibrate import FloatRunner

CORRECTED_OPS = ("conv2d", "depthwise_conv2d", "fully_connected")
BIAS_SAMPLES = 32


def _equalizable(node: Node) -> bool:
    if node.op == "conv2d":
        return node.attrs.get("groups", 1) == 1
    return node.op == "depthwise_conv2d" and node.attrs.get("depth_multiplier", 1) == 1


def _relu_or_none(node: Node) -> bool:
    activation = node.attrs.get("activation")
    return not activation or (activation.get("max") is None and activation.get("min") in (0, 0.0))


def _out_axis(node: Node) -> int:
    return 0 if node.op == "conv2d" else 3  # OHWI / [1, KH, KW, C]


def equalize(graph: Graph, sweeps: int = 2) -> tuple[dict[str, np.ndarray], int]:
    """Equalize every eligible pair in place. Returns the per-channel divisor of each tensor between
    a pair (its values are the original's divided by it) and the number of pairs."""
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)
    pairs: list[tuple[Node, Node]] = []
    for a in graph.nodes:
        out = a.outputs[0]
        users = readers.get(out, [])
        if not _equalizable(a) or not _relu_or_none(a) or out in graph.outputs or len(users) != 1:
            continue
        b = users[0]
        if not _equalizable(b) or b.inputs[0] != out:
            continue
        constants = [graph.tensors[a.inputs[1]], graph.tensors[a.inputs[2]], graph.tensors[b.inputs[1]]]
        if any(t.dtype != "float32" or t.data is None or len(readers.get(t.name, [])) != 1 for t in constants):
            continue  # quantized (QDQ) or shared constants stay as they are
        pairs.append((a, b))
    divisors: dict[str, np.ndarray] = {}
    for _ in range(sweeps):
        for a, b in pairs:
            wa, ba, wb = (graph.tensors[a.inputs[1]], graph.tensors[a.inputs[2]], graph.tensors[b.inputs[1]])
            assert wa.data is not None and ba.data is not None and wb.data is not None
            axis_a, axis_b = _out_axis(a), 3  # B's input channels: OHWI's I, or depthwise's C
            r1 = np.max(np.abs(np.moveaxis(wa.data, axis_a, 0).reshape(wa.data.shape[axis_a], -1)), axis=1)
            r2 = np.max(np.abs(np.moveaxis(wb.data, axis_b, 0).reshape(wb.data.shape[axis_b], -1)), axis=1)
            scale = np.ones_like(r1, dtype=np.float64)
            live = (r1 > 0) & (r2 > 0)
            scale[live] = np.sqrt(r1[live].astype(np.float64) / r2[live])
            shape_a = [1] * wa.data.ndim
            shape_a[axis_a] = -1
            shape_b = [1] * wb.data.ndim
            shape_b[axis_b] = -1
            wa.data = (wa.data / scale.reshape(shape_a)).astype(np.float32)
            ba.data = (ba.data / scale).astype(np.float32)
            wb.data = (wb.data * scale.reshape(shape_b)).astype(np.float32)
            name = a.outputs[0]
            divisors[name] = divisors.get(name, np.ones_like(scale)) * scale
    return divisors, len(pairs)


def float_outputs(loaded: LoadedModel, names: list[str], data: dict[str, np.ndarray],
                  divisors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float model's named tensors on `data`, (N, ...) in its layout, equalized channels divided."""
    runner = FloatRunner(loaded, names)
    kept: dict[str, list[np.ndarray]] = {name: [] for name in runner.wanted}
    for values in runner.stream(data, "float model for bias correction"):
        for name, value in values.items():
            kept[name].append(value)
    result = {}
    for name, parts in kept.items():
        value = np.concatenate(parts)
        if name in divisors:
            shape = [1] * value.ndim
            shape[1] = -1
            value = value / divisors[name].reshape(shape)
        result[name] = value.astype(np.float32)
    return result


def correct_biases(graph: Graph, reference: dict[str, np.ndarray],
                   run: Callable[[Graph], dict[str, np.ndarray]]) -> int:
    """Fold each layer's per-channel mean int8 output error into its bias, in order. reference: the
    float tensors by name (model layout); run: the int8 golden reference's activations by name
    (physical layout). Returns the number of layers corrected."""
    corrected = 0
    for node in graph.nodes:
        out = node.outputs[0]
        if node.op not in CORRECTED_OPS or out not in reference or len(node.inputs) < 3:
            continue
        tensor, bias = graph.tensors[out], graph.tensors[node.inputs[2]]
        if tensor.quant is None or bias.dtype != "int32" or bias.data is None or bias.quant is None:
            continue
        ours_q = run(graph)[out]
        ours = dequantize(tensor.layout.to_onnx(ours_q, tensor.onnx_shape or tensor.shape),
                          tensor.quant.scale_value, tensor.quant.zero_point_value)
        theirs = reference[out]
        if ours.size != theirs.size or ours.ndim < 2:
            continue
        theirs = theirs.reshape(ours.shape)
        low, high = _clamps(node)
        active = (theirs > low) & (theirs < high)  # where a fused activation does not clamp
        error = np.where(active, ours - theirs, 0.0)
        per_channel = np.moveaxis(error, 1, 0).reshape(error.shape[1], -1).sum(axis=1)
        counts = np.moveaxis(active, 1, 0).reshape(active.shape[1], -1).sum(axis=1)
        if per_channel.shape[0] != bias.data.shape[0]:
            continue
        mean = np.where(counts > 0, per_channel / np.maximum(counts, 1), 0.0)
        scales = np.broadcast_to(bias.quant.scale, bias.data.shape).astype(np.float64)
        step = np.rint(mean / scales).astype(np.int64)
        limit = np.iinfo(np.int32)
        bias.data = np.clip(bias.data.astype(np.int64) - step, limit.min // 2, limit.max // 2).astype(np.int32)
        corrected += 1
    return corrected


def _clamps(node: Node) -> tuple[float, float]:
    activation = node.attrs.get("activation") or {}
    low = activation.get("min")
    high = activation.get("max")
    return (-np.inf if low is None else float(low)), (np.inf if high is None else float(high))
