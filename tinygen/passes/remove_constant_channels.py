"""Remove the output channels of a convolution that are the same constant at every pixel, folding their
value into the convolution that reads them: conv A -> [depthwise D ->] conv B, where some of A's output
channels have only zero weights (trained networks have many: weight decay and ReLU leave 971 of VWW's
2,738 pointwise filters at zero).

Runs on the int8 IR, where what "constant" means is exact. A channel k of A whose weights are all 0
outputs v = clamp(requantize(bias[k])) at every pixel. Through a depthwise convolution D (multiplier
1) channel k stays one constant when its taps see v everywhere or contribute nothing: D without
padding (acc = bias_D[k] + (v + input_offset_D) * sum(w_D[k])), or v + input_offset_D = 0 (v is D's
input zero point, as a dead channel followed by ReLU usually gives; padded taps contribute 0 too),
or w_D[k] all 0. The constant z (v, or D's requantized constant) then reaches B's channel k, which
adds (z + input_offset_B) * w_B[j, ky, kx, k] over the window's taps -- the same at every output pixel
when B has no padding, or nothing when z + input_offset_B = 0 -- so that sum joins B's int32 bias and
channel k leaves A's output, D and B's input. B's accumulators hold exactly the values they held
before (the bound computed from its weights and bias can only shrink), so the outputs are bit-identical
(tests/passes/test_remove_constant_channels.py compares the golden reference before and after).

Conditions: A and B ungrouped int8 conv2d layers, D an int8 depthwise_conv2d with multiplier 1, each
intermediate tensor read by the next layer only and not a graph output, A without a fused residual Add
and no 16-bit layers; a channel is removed only where every step above holds for it, the folded bias
must fit int32, and the channel count stays a multiple of 4 (2) where it was one (the DSP kernels
need that), at least 1. The removed channels are recorded on A and D
(attrs["kept_channels"]: the original index of each channel kept) for the per-layer report, which
compares the kept channels with the source model's tensor; A, D and B keep the MACs of the model's
layer (attrs["model_macs"]) for the reports, while the planner's costs count what runs.
"""

from __future__ import annotations

import numpy as np

from ..arith import requantize
from ..ir import Graph, Node, QuantParams, Tensor, model_channel_axis
from ..ops import op_of
from ..ops.base import layer_weights, zero_filters
from .util import sole_consumer

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def run(graph: Graph) -> int:
    removed = 0
    for a in list(graph.nodes):
        if not _dense_conv(a, graph) or "residual" in a.params:
            continue
        chain = _chain(graph, a)
        if chain is None:
            continue
        d, b = chain
        values = _constant_channels(a, graph)
        if d is not None:
            values = {k: z for k, v in values.items() if (z := _through_depthwise(d, graph, k, v)) is not None}
        folds = {k: fold for k, z in values.items() if (fold := _fold(b, graph, k, z)) is not None}
        channels = _weights(a, graph).shape[0]
        # The count kept stays a multiple of what the count was (of 4 at most: the DSP kernels need 4
        # for depthwise, 2 for channel pairs), and at least that: the last removable channels stay.
        multiple = next(m for m in (4, 2, 1) if channels % m == 0)
        live = channels - len(folds)
        stay = max(multiple, -(-live // multiple) * multiple) - live
        for k in sorted(folds)[len(folds) - stay:]:
            del folds[k]
        if not folds:
            continue
        bias_b = _bias(b, graph).astype(np.int64) + sum(folds.values())
        if bias_b.min() < INT32_MIN or bias_b.max() > INT32_MAX:
            continue
        keep = np.array([k for k in range(channels) if k not in folds])
        for node in (a, d, b):  # the reports count the model's MACs (bench: MAC per cycle against them)
            if node is not None:
                node.attrs.setdefault("model_macs", int(op_of(node).macs(node, graph)))
        _keep_output_channels(graph, a, keep, axis=0)
        if d is not None:
            _keep_output_channels(graph, d, keep, axis=3)
        _replace_constant(graph, b, 2, bias_b.astype(np.int32))
        _replace_constant(graph, b, 1, _weights(b, graph)[..., keep])
        removed += len(folds)
    return removed


def _dense_conv(node: Node, graph: Graph) -> bool:
    return (node.op == "conv2d" and node.attrs.get("groups", 1) == 1 and layer_weights(node) == "int8"
            and not node.params.get("s16") and graph.tensors[node.outputs[0]].dtype == "int8")


def _chain(graph: Graph, a: Node) -> tuple[Node | None, Node] | None:
    """(D, B) or (None, B) after A, each tensor between read only by the next layer."""
    after = sole_consumer(graph, a.outputs[0])
    if after is None or after.inputs[0] != a.outputs[0]:
        return None
    d = None
    if after.op == "depthwise_conv2d":
        if (after.attrs.get("depth_multiplier", 1) != 1 or layer_weights(after) != "int8" or after.params.get("s16")
                or "kept_channels" in after.attrs):
            return None
        d, after = after, sole_consumer(graph, after.outputs[0])
        if after is None or after.inputs[0] != d.outputs[0]:
            return None
    return (d, after) if _dense_conv(after, graph) else None


def _weights(node: Node, graph: Graph) -> np.ndarray:
    data = graph.tensors[node.inputs[1]].data
    assert data is not None
    return data


def _bias(node: Node, graph: Graph) -> np.ndarray:
    data = graph.tensors[node.inputs[2]].data
    assert data is not None
    return data


def _channel(values: np.ndarray, k: int) -> np.ndarray:
    """A per-channel parameter of channel k (or the per-tensor one), as a 1-element array."""
    return values[k:k + 1] if len(values) > 1 else values[:1]


def _requantized(node: Node, k: int, acc: int) -> int:
    p = node.params
    return int(requantize(np.array([acc], np.int64), _channel(np.asarray(p["multiplier"]), k),
                          _channel(np.asarray(p["shift"]), k), p["output_offset"], p["act_min"], p["act_max"])[0])


def _constant_channels(a: Node, graph: Graph) -> dict[int, int]:
    """A's output channels with only zero weights: channel -> its value at every pixel."""
    dead = np.flatnonzero(zero_filters(_weights(a, graph)))
    bias = _bias(a, graph)
    return {int(k): _requantized(a, int(k), int(bias[k])) for k in dead}


def _unpadded(node: Node) -> bool:
    return not any(node.attrs["pads"]) and not node.attrs.get("ceil_mode", False)


def _through_depthwise(d: Node, graph: Graph, k: int, v: int) -> int | None:
    """D's output channel k when its input channel k is v at every pixel, if that is one constant too."""
    taps = _weights(d, graph)[..., k].astype(np.int64)
    x = v + d.params["input_offset"]  # what every tap inside the input contributes per weight; padding 0
    if x == 0 or not taps.any():
        acc = int(_bias(d, graph)[k])
    elif _unpadded(d):
        acc = int(_bias(d, graph)[k]) + x * int(taps.sum())
    else:
        return None
    return _requantized(d, k, acc)


def _fold(b: Node, graph: Graph, k: int, z: int) -> np.ndarray | None:
    """What B's input channel k, z at every pixel, adds to each output channel's accumulator, if the
    same at every output pixel."""
    x = z + b.params["input_offset"]
    weights = _weights(b, graph)[..., k].astype(np.int64)  # [C_out, KH, KW]
    if x == 0:
        return np.zeros(weights.shape[0], np.int64)
    if not _unpadded(b):
        return None
    return x * weights.reshape(weights.shape[0], -1).sum(axis=1)


def _replace_constant(graph: Graph, node: Node, index: int, data: np.ndarray,
                      quant: QuantParams | None = None) -> None:
    """Give node input `index` a new constant tensor (the old one may be shared)."""
    old = graph.tensors[node.inputs[index]]
    new = Tensor(graph.unique_name(old.name), tuple(data.shape), old.dtype, np.ascontiguousarray(data),
                 quant if quant is not None else old.quant, layout=old.layout)
    graph.add_tensor(new)
    node.inputs[index] = new.name


def _keep_output_channels(graph: Graph, node: Node, keep: np.ndarray, axis: int) -> None:
    """Node computes only its output channels `keep` (weights along `axis`, bias, per-channel
    requantization); its output tensor shrinks to them."""
    def kept_quant(index: int) -> QuantParams | None:
        quant = graph.tensors[node.inputs[index]].quant
        if quant is None or quant.is_per_tensor or len(quant.scale) == 1:
            return quant
        return QuantParams(quant.scale[keep], quant.zero_point[keep], quant.axis)

    _replace_constant(graph, node, 1, np.take(_weights(node, graph), keep, axis=axis), kept_quant(1))
    _replace_constant(graph, node, 2, _bias(node, graph)[keep], kept_quant(2))
    node.params = dict(node.params)  # (graph copies share the params dicts)
    for key in ("multiplier", "shift"):
        values = np.asarray(node.params[key])
        if len(values) > 1:
            node.params[key] = values[keep]
    output = graph.tensors[node.outputs[0]]
    output.shape = (*output.shape[:-1], len(keep))  # the kernels' layout: NHWC
    if output.onnx_shape is not None:  # the model's: channels on axis 1 (ONNX) or last (.tflite, stored plain)
        axis = model_channel_axis(output)
        output.onnx_shape = tuple(len(keep) if i == axis % len(output.onnx_shape) else size
                                  for i, size in enumerate(output.onnx_shape))
    node.attrs["kept_channels"] = [int(k) for k in keep]
