"""The 16x8 scheme (TFLite's int16 activations with int8 weights) shared by the op modules that run it.

Activations are int16 with zero point 0 (symmetric, scale max|x| / 32767), weights int8 symmetric per
output channel as in the int8 scheme, biases int64 with scale s_in * s_w[c]. Conv, depthwise and fully
connected layers accumulate sum w * x in int64 (|w x| <= 127 * 2^15 < 2^22) and requantize it with
TFLite's 64-bit MultiplyByQuantizedMultiplier (arith.multiply_by_quantized_multiplier_64: the multiplier
rounded to Q15, shift at most 7, |acc| < 2^47, checked here). Every other op keeps its int8 recipe with
zero points 0 and int16 ranges, except where TFLite defines its own (add: left shift 15; softmax: tables).
"""

from __future__ import annotations

import numpy as np

from .. import arith
from ..errors import TinygenError
from ..ir import Graph, Node, QuantParams
from .common import channel_multipliers, input_quant, output_quant

ACCUMULATOR_LIMIT = 2**47  # TFLite's bound on the int64 accumulator of MultiplyByQuantizedMultiplier(int64)
MAX_SHIFT = 7  # and on its shift


def is_s16(node: Node, graph: Graph) -> bool:
    """Does the layer compute with int16 activations (its output is int16)?"""
    return graph.tensors[node.outputs[0]].dtype == "int16"


def check_symmetric(node: Node, graph: Graph) -> None:
    """16x8 tensors have zero point 0 (TFLite requires it; the kernels add no offsets)."""
    for name in [*node.inputs, *node.outputs]:
        tensor = graph.tensors[name]
        if tensor.dtype == "int16" and tensor.quant is not None and np.any(tensor.quant.zero_point != 0):
            raise TinygenError(f"node '{node.name}': int16 tensor '{name}' has zero point "
                               f"{int(tensor.quant.zero_point[0])}; 16-bit activations must be symmetric "
                               "(zero point 0)", hint="Quantize int16 activations symmetrically, as TFLite's 16x8 "
                               "scheme and onnxruntime's QInt16 with symmetric activations do.")


def activation_range_s16(node: Node, graph: Graph) -> tuple[int, int]:
    """The int16 clamp of the node's fused activation."""
    scale, zero_point = output_quant(graph, node)
    activation = node.attrs.get("activation")
    if not activation:
        return arith.INT16_MIN, arith.INT16_MAX
    return arith.activation_bounds(activation.get("min"), activation.get("max"), scale, zero_point, "int16")


def quantize_weighted(node: Node, graph: Graph, axis: int) -> dict:
    """Weights (int8 per channel along `axis`), int64 bias and the requantization of a 16x8 conv, depthwise
    or fully connected layer; returns its node.params (offsets 0, as the int8 golden code reads them)."""
    check_symmetric(node, graph)
    in_scale, _ = input_quant(graph, node)
    out_scale, _ = output_quant(graph, node)
    weights, bias = graph.tensors[node.inputs[1]], graph.tensors[node.inputs[2]]
    assert weights.data is not None and bias.data is not None
    channels = weights.shape[axis]
    if weights.dtype == "int8" and weights.quant is not None and np.any(weights.quant.zero_point != 0):
        raise TinygenError(f"node '{node.name}': asymmetric int8 weights with int16 activations",
                           hint="16x8 layers take symmetric int8 weights (zero point 0).")
    if weights.dtype != "int8":
        values = np.asarray(weights.data, np.float32)
        scales = arith.quantize_symmetric(values, axis)[1]
        if bias.dtype not in ("int32", "int64"):
            # A channel whose weights are tiny next to its bias (a dead channel with a bias) would need a bias
            # beyond the accumulator's bound: its weight scale is raised until the whole bound fits, as the
            # int8 path does it for int32 (common.quantize_weights_and_bias).
            room = float(ACCUMULATOR_LIMIT - 1 - 127 * 2**15 * (values.size // channels))
            needed = np.abs(np.asarray(bias.data, np.float64)) / (np.float64(in_scale) * room)
            scales = np.maximum(scales.astype(np.float64), needed * (1 + 1e-6)).astype(np.float32)
        shape = [1] * values.ndim
        shape[axis] = -1
        quantized = np.clip(arith.round_half_away_array(values / scales.reshape(shape)), -127, 127)
        weights.data, weights.dtype = quantized.astype(np.int8), "int8"
        weights.quant = QuantParams(scales, np.zeros(len(scales), np.int32), axis)
    assert weights.quant is not None
    weight_scales = np.broadcast_to(weights.quant.scale, (channels,)).astype(np.float32)
    if bias.dtype in ("int32", "int64"):  # a quantized model's bias: its integers, kept
        bias.data = bias.data.astype(np.int64)
    else:
        bias_scales = np.float64(in_scale) * weight_scales.astype(np.float64)
        q = arith.round_half_away_array(np.asarray(bias.data, np.float64) / bias_scales)
        bias.data = np.clip(q, -(2**62), 2**62).astype(np.int64)
        bias.quant = QuantParams((np.float64(in_scale) * weight_scales).astype(np.float32),
                                 np.zeros(channels, np.int32), 0)
    bias.dtype = "int64"
    w = np.moveaxis(weights.data.astype(np.int64), axis, 0).reshape(channels, -1)
    bound = np.abs(bias.data.astype(np.int64)) + np.abs(w).sum(axis=1) * 2**15
    if int(bound.max()) >= ACCUMULATOR_LIMIT:
        raise TinygenError(f"node '{node.name}': its int64 accumulator could exceed TFLite's 2^47 bound "
                           f"(bound {int(bound.max())})")
    multiplier, shift = channel_multipliers(in_scale, weights.quant.scale, out_scale)
    if int(np.max(shift)) > MAX_SHIFT:
        raise TinygenError(f"node '{node.name}': its output scale is over 2^{MAX_SHIFT} times finer than the "
                           "input's times the weights'; the 16x8 requantization cannot express it")
    act_min, act_max = activation_range_s16(node, graph)
    return {"input_offset": 0, "output_offset": 0, "multiplier": multiplier, "shift": shift,
            "act_min": act_min, "act_max": act_max, "s16": True}


def requantize(acc: np.ndarray, p: dict) -> np.ndarray:
    return arith.requantize_64(acc, p["multiplier"], p["shift"], p["act_min"], p["act_max"])


def shifts(shift: np.ndarray) -> np.ndarray:
    """The shifts as the kernels store them (int8; in [-31, 7])."""
    return np.asarray(shift).astype(np.int8)
