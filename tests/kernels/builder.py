"""Small int8 IR graphs built directly in Python for the per-kernel tests, with randomized
integer kernel parameters set straight into node.params (the quantizer is not involved).

A graph holds several independent single-op layers, each with its own graph input(s) and graph
output, so one compile of the generated C covers many parameter sets.

Where the parameters stop being defined
---------------------------------------
The C kernels compute in int32 exactly as TFLite does, so a parameter set is only valid if none
of the int32 steps overflows (signed overflow is undefined; UBSan aborts on it):
  * the accumulator bias + sum w * (x + input_offset) of conv / depthwise / fully connected must
    stay in int32 for every int8 input: `accumulator_bound` computes its exact worst case and
    `draw_bias` keeps it below 2^31 (with biases drawn right up to that edge);
  * tg_requantize(acc, m, shift) + output_offset must stay in int32. The left shift of a
    shift > 0 wraps by tinygen's definition (tg_requant.h shifts a uint32 and arith mirrors it),
    so after it |x| <= 2^31, and |SRDHM(x, m)| <= round(|x| m / 2^31); `requant_defined` admits
    (m, shift) only if that bound plus |output_offset| <= 2^31 - 1. Every multiplier in
    [0, 2^31 - 129] and every shift in [-31, 30] passes whatever the accumulator; the largest
    multipliers pass with accumulators small enough. TFLite itself leaves the rest undefined.
  * add: each input is (x + offset) << 20, |.| < 2^28, rescaled with its own (m, shift) and the
    two are summed in int32. With input shifts <= 2 each rescaled value is below 2^30, so the
    sum cannot overflow (TFLite's derivation always gives shifts <= 0).
  * softmax: the scaled difference diff * 2^left_shift is only formed for diff >= diff_min, and
    diff_min is derived from the left shift as TFLite's CalculateInputRadius does; the sum of
    up to `depth` exponentials (each <= 2^19 in Q12.19) needs depth < 4096.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinygen.ir import Graph, Layout, Node, QuantParams, Tensor, verify

INT32_MAX = 2**31 - 1
EXTREME_MULTIPLIERS = (2**31 - 1, 2**30, 0, 1, 2**31 - 2, 2**30 + 1)
EXTREME_SHIFTS = (-31, 30, -30, 29, 0, -1, 1)  # 6 x 7 = 42 combinations before the cycle repeats


# --- random parameters ---------------------------------------------------------------------------

def zero_point(rng: np.random.Generator) -> int:
    """A zero point in [-128, 127], the extremes and 0 often."""
    if rng.random() < 0.4:
        return int(rng.choice([-128, 127, 0]))
    return int(rng.integers(-128, 128))


def requant_defined(acc_bound: int, multiplier: int, shift: int, offset_bound: int = 128) -> bool:
    """Is tg_requantize(acc, multiplier, shift) + offset defined for every |acc| <= acc_bound and
    |offset| <= offset_bound? (See the module docstring.)"""
    shifted = min(acc_bound << shift, 2**31) if shift > 0 else acc_bound
    worst = (shifted * multiplier + 2**30) >> 31
    return worst + offset_bound <= INT32_MAX


class ExtremeCycle:
    """Hands out every combination of EXTREME_MULTIPLIERS x EXTREME_SHIFTS in turn, so that the
    extremes are certain to occur in a handful of draws (chance would miss some)."""

    def __init__(self, start: int = 0) -> None:
        self.count = start

    def next(self) -> tuple[int, int]:
        k = self.count
        self.count += 1
        return EXTREME_MULTIPLIERS[k % len(EXTREME_MULTIPLIERS)], EXTREME_SHIFTS[k % len(EXTREME_SHIFTS)]


def draw_requant(rng: np.random.Generator, acc_bound: int, count: int = 1, typical: float | None = None,
                 offset_bound: int = 128, extremes: ExtremeCycle | None = None,
                 extreme: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`count` (multiplier, shift) pairs for accumulators |acc| <= acc_bound: informative ones, which
    map the typical accumulator magnitude (acc_bound unless given) to 2^3 .. 2^7, so the outputs
    spread over int8 (the output scale derived from the accumulator range); with `extreme`, the next
    extreme combinations of the cycle. (Uniform draws over multiplier x shift, 15 % of the layers
    before, saturated nearly always and are gone: the cycle covers the extremes.) Extreme layers are
    named so (GraphBuilder.layer) and exempt from the spread check: saturating is their point. Pairs
    that would overflow int32 (requant_defined) are drawn again."""
    multipliers, shifts = [], []
    typical = float(acc_bound if typical is None else typical)
    extremes = extremes or ExtremeCycle()
    while len(multipliers) < count:
        if not extreme:
            target = 2.0 ** rng.uniform(3, 7) / max(typical, 1.0)
            shift = int(np.clip(np.frexp(target)[1], -31, 30))
            multiplier = int(rng.integers(2**30, 2**31))
        else:
            multiplier, shift = extremes.next()
        if requant_defined(acc_bound, multiplier, shift, offset_bound):
            multipliers.append(multiplier)
            shifts.append(shift)
    return np.array(multipliers, np.int32), np.array(shifts, np.int32)


def activation_range(rng: np.random.Generator, output_offset: int) -> tuple[int, int]:
    """A fused-activation clamp: usually the full int8 range, sometimes what a fused ReLU or
    ReLU6 gives (from the output zero point up), now and then any range or a single value. The
    clamps keep at least 32 values (a narrower one would make the output degenerate), except the
    single-value clamp (2 %), an edge case of its own."""
    kind = rng.random()
    if kind < 0.6 or (kind < 0.85 and output_offset > 127 - 32):
        return -128, 127
    if kind < 0.85:
        return output_offset, int(rng.choice([127, min(127, output_offset + int(rng.integers(32, 128)))]))
    if kind < 0.98:
        low = int(rng.integers(-128, 127 - 32))
        return low, int(rng.integers(low + 32, 128))
    low = int(rng.integers(-128, 128))
    return low, low


def int8_weights(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """int8 weights over the whole range [-128, 127] (the kernels accept -128 too); sometimes
    sparse, so that accumulators also take small values."""
    weights = rng.integers(-128, 128, size=tuple(shape))
    if rng.random() < 0.3:
        weights = np.where(rng.random(tuple(shape)) < 0.7, 0, weights)
    return weights.astype(np.int8)


def accumulator_range(weights: np.ndarray, input_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel (rows of `weights`, [C, taps]), the exact [min, max] of
    sum w * (x + input_offset) over int8 x (padded taps contribute 0, which lies inside)."""
    w = weights.astype(np.int64)
    lo, hi = -128 + input_offset, 127 + input_offset  # lo <= 0 <= hi for offsets in [-127, 128]
    positive, negative = np.where(w > 0, w, 0).sum(axis=1), np.where(w < 0, w, 0).sum(axis=1)
    return positive * lo + negative * hi, positive * hi + negative * lo


def typical_sum(weights: np.ndarray, input_offset: int) -> np.ndarray:
    """Per row of weights [C, taps], the typical |sum w * (x + input_offset)| for uniform int8 x:
    the mean's magnitude plus one standard deviation (74 per uniform int8 value)."""
    w = weights.astype(np.float64)
    return np.abs(w.sum(axis=1) * (input_offset - 0.5)) + 74 * np.sqrt((w * w).sum(axis=1))


def draw_bias(rng: np.random.Generator, low: np.ndarray, high: np.ndarray, typical: np.ndarray) -> np.ndarray:
    """int32 biases keeping bias + [low, high] inside int32: mostly of the accumulator's typical
    size, sometimes right at the edge of int32 on either side."""
    biases = []
    for lo, hi, size in zip(low.tolist(), high.tolist(), typical.tolist(), strict=True):
        smallest, largest = -(2**31) - lo, INT32_MAX - hi
        kind = rng.random()
        if kind < 0.06:
            biases.append(smallest)
        elif kind < 0.12:
            biases.append(largest)
        else:
            spread = int(size) + 1
            biases.append(int(np.clip(rng.integers(-spread, spread + 1), smallest, largest)))
    return np.array(biases, np.int32)


def accumulator_bound(low: np.ndarray, high: np.ndarray, bias: np.ndarray) -> np.ndarray:
    bias = bias.astype(np.int64)
    bound = np.maximum(np.abs(bias + low), np.abs(bias + high))
    assert bound.max() <= 2**31, "the accumulator could overflow int32"
    return bound


# --- graphs ------------------------------------------------------------------------------------

EXTREME_PREFIX = "extreme_"


class GraphBuilder:
    """Builds a Graph of independent layers; every layer output is a graph output."""

    def __init__(self, name: str, seed: int):
        self.rng = np.random.default_rng(seed)
        self.graph = Graph(name)
        self.extremes = ExtremeCycle(3 * seed)
        self.extreme = False  # draw only extreme (multiplier, shift) pairs and zero points
        self._count = 0

    def _name(self, role: str) -> str:
        self._count += 1
        return f"{role}{self._count}"

    def layers(self, count: int) -> Iterator[int]:
        """Layer indices 0 .. count - 1; the last third of the layers (at least one) use only
        special zero points (-128, 127 or 0) and extreme requantization pairs (in turn from the
        cycle), so every graph has some."""
        for index in range(count):
            self.extreme = index >= count - max(1, count // 3)
            yield index
        self.extreme = False

    def requant(self, acc_bound: int, count: int = 1, typical: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """draw_requant with this graph's cycle of extreme pairs (see `layers`)."""
        return draw_requant(self.rng, acc_bound, count, typical, extremes=self.extremes, extreme=self.extreme)

    def zero_point(self) -> int:
        if self.extreme:
            return int(self.rng.choice([-128, 127, 0]))
        return zero_point(self.rng)

    def quant(self, zp: int | None = None) -> QuantParams:
        scale = np.float32(2.0 ** self.rng.uniform(-10, 2))
        return QuantParams.per_tensor(float(scale), self.zero_point() if zp is None else zp)

    def input(self, shape: Sequence[int], zp: int | None = None, layout: Layout = Layout.PLAIN,
              onnx_shape: Sequence[int] | None = None, quant: QuantParams | None = None) -> str:
        name = self._name("x")
        self.graph.add_tensor(Tensor(name, tuple(shape), "int8", quant=quant or self.quant(zp), layout=layout,
                                     onnx_shape=tuple(onnx_shape) if onnx_shape else None))
        self.graph.inputs.append(name)
        return name

    def constant(self, data: np.ndarray, role: str = "c", quant: QuantParams | None = None) -> str:
        name = self._name(role)
        self.graph.add_tensor(Tensor(name, tuple(data.shape), str(data.dtype), data=data, quant=quant))
        return name

    def layer(self, op: str, inputs: list[str], out_shape: Sequence[int], attrs: dict[str, Any],
              params: dict[str, Any], zp: int | None = None, layout: Layout = Layout.PLAIN,
              onnx_shape: Sequence[int] | None = None, quant: QuantParams | None = None) -> str:
        """Add one node and make its output a graph output. The output tensor's quantization is
        only metadata for the int8 tests (the kernel's own numbers are in `params`)."""
        out = self._name("y")
        self.graph.add_tensor(Tensor(out, tuple(out_shape), "int8", quant=quant or self.quant(zp), layout=layout,
                                     onnx_shape=tuple(onnx_shape) if onnx_shape else None))
        # An extreme layer (saturating parameters on purpose) says so in its name: the spread check of
        # tests/kernels/test_kernels.py skips it.
        name = f"{EXTREME_PREFIX if self.extreme else ''}{op}_{out}"
        self.graph.nodes.append(Node(name, op, inputs, [out], attrs, params))
        self.graph.outputs.append(out)
        return out

    def finish(self) -> Graph:
        verify(self.graph)
        return self.graph


def random_batch(rng: np.random.Generator, graph: Graph, samples: int) -> dict[str, np.ndarray]:
    """int8 inputs for every graph input, (samples, *shape[1:]) in storage order: sample 0 is all
    -128, sample 1 all 127 (the accumulator extremes), the rest uniform."""
    batch = {}
    for name in graph.inputs:
        shape = (samples, *graph.tensors[name].shape[1:])
        x = rng.integers(-128, 128, size=shape).astype(np.int8)
        x[0], x[1] = -128, 127
        batch[name] = x
    return batch
