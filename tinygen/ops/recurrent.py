"""What the recurrent ops (ops/lstm.py, ops/gru.py) share: reading ONNX's LSTM/GRU inputs and attributes,
quantizing the gate weights, the fixed-point gate arithmetic and activation tables, and the float
recurrence that calibration runs to find the ranges ONNX does not expose (the hidden state at every
step, the LSTM cell state).

The integer scheme is TFLite's integer LSTM ("8x8_16"): int8 input and hidden state, int8 weights,
gate pre-activations in int16 Q3.12, sigmoid / tanh in fixed point to int16 Q0.15, an int16 cell
state with a power-of-two scale. firmware/tinygen_kernels/include/tg_recurrent.h documents every
scale and bound; the functions here are the golden arithmetic, which tg_lstm_s8.c / tg_gru_s8.c and
src/internal/tg_recurrent.h repeat operation for operation.

Tensors at run time are batch 1, so ONNX's layouts 0 ([T, B, I], Y [T, D, B, H]) and 1 ([B, T, I],
Y [B, T, D, H]) hold the same bytes: [T, I] in, [T, D, H] out, [D, H] for the final states.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import arith
from ..ir import Graph, Layout, Node, QuantParams, Tensor
from .base import Op
from .onnx_import import ImportContext, Unsupported, Value

GATE_FRACTION_BITS = 12  # gate pre-activations: int16 Q3.12, |x| < 8
STATE_FRACTION_BITS = 15  # gate activations, GRU hidden state: int16 Q0.15
TABLE_STEP_BITS = 7  # activation tables: one entry every 2^7 raw Q3.12 steps (1/32), 513 entries
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
MAX_DEPTH = 8192  # inputs and hidden units: keeps |bias| + 127 * 255 * depth far inside int32 (see quantize_gates)

DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


# --- import ------------------------------------------------------------------------------------

@dataclass
class RecurrentSpec:
    """An ONNX LSTM/GRU node as the import function reads it (batch 1)."""

    steps: int
    input_size: int
    hidden: int
    directions: int
    reverse: bool  # the single direction runs backwards
    w: np.ndarray  # [D, G*H, I] float
    r: np.ndarray  # [D, G*H, H]
    wb: np.ndarray  # [D, G*H]
    rb: np.ndarray  # [D, G*H]
    initial: list[np.ndarray]  # initial_h (and initial_c), each [D, H]
    clip: float | None


def _constant(value: Value | None, what: str) -> np.ndarray | None:
    if value is None:
        return None
    if value.const is None:
        raise Unsupported(f"the {what} is computed at run time; tinygen needs it constant (fold it at export, "
                          "or pass zeros)")
    return np.asarray(value.const, np.float32)


def read_recurrent(ctx: ImportContext, op_type: str, gates: int, X: Value, W: Value, R: Value, B: Value | None,
                   sequence_lens: Value | None, states: list[Value | None], *, activations: list[str] | None,
                   activation_alpha: list[float] | None, activation_beta: list[float] | None, clip: float | None,
                   direction: str, hidden_size: int | None, layout: int) -> RecurrentSpec:
    """Check an ONNX LSTM/GRU node and read its constants (everything but the activations is general)."""
    if X.const is not None:
        raise Unsupported("the sequence input is a constant; nothing to compute at run time")
    if X.layout is not Layout.PLAIN or X.rank != 3:
        raise Unsupported(f"the sequence input has shape {list(X.shape)}; a [steps, batch, features] tensor "
                          "is expected")
    if layout not in (0, 1):
        raise Unsupported(f"layout={layout}; ONNX defines 0 and 1")
    steps, batch = (X.shape[1], X.shape[0]) if layout else (X.shape[0], X.shape[1])
    if batch != 1:
        raise Unsupported(f"batch {batch}; tinygen runs batch 1")
    directions = {"forward": 1, "reverse": 1, "bidirectional": 2}.get(direction)
    if directions is None:
        raise Unsupported(f"direction '{direction}'; ONNX defines forward, reverse and bidirectional")
    expected = DEFAULT_ACTIVATIONS[op_type] * directions
    if activations is not None and [a.lower() for a in activations] != [a.lower() for a in expected]:
        raise Unsupported(f"activations {activations}; tinygen's integer {op_type} computes the default "
                          f"{DEFAULT_ACTIVATIONS[op_type]} only", hint="retrain with the default activations")
    if activation_alpha or activation_beta:
        raise Unsupported("activation_alpha / activation_beta are set; only the default activations are supported")
    w, r = _constant(W, "input weight W"), _constant(R, "recurrence weight R")
    assert w is not None and r is not None
    hidden = r.shape[-1]
    if hidden_size is not None and hidden_size != hidden:
        raise Unsupported(f"hidden_size={hidden_size} but R has {hidden} columns")
    if w.shape != (directions, gates * hidden, X.shape[2]) or r.shape != (directions, gates * hidden, hidden):
        raise Unsupported(f"W {list(w.shape)} / R {list(r.shape)} do not match {directions} direction(s), "
                          f"{gates} gates of {hidden} units and {X.shape[2]} input features")
    if X.shape[2] > MAX_DEPTH or hidden > MAX_DEPTH:
        raise Unsupported(f"{X.shape[2]} input features and {hidden} hidden units; at most {MAX_DEPTH} each")
    b = _constant(B, "bias B")
    b = np.zeros((directions, 2 * gates * hidden), np.float32) if b is None else b.reshape(directions, -1)
    lens = _constant(sequence_lens, "sequence_lens")
    if lens is not None and not np.all(lens == steps):
        raise Unsupported(f"sequence_lens {lens.ravel().tolist()} differ from the {steps} steps of the input; "
                          "tinygen runs whole sequences")
    initial = []
    for value, what in zip(states, ["initial_h", "initial_c"], strict=False):
        array = _constant(value, what)
        initial.append(np.zeros((directions, hidden), np.float32) if array is None
                       else array.reshape(directions, hidden) if layout == 0
                       else np.moveaxis(array, 1, 0).reshape(directions, hidden))
    if clip is not None and not clip > 0:
        raise Unsupported(f"clip={clip}; it must be positive")
    return RecurrentSpec(steps, X.shape[2], hidden, directions, direction == "reverse", w, r,
                         b[:, :gates * hidden], b[:, gates * hidden:], initial, clip)


def add_constants(ctx: ImportContext, spec: RecurrentSpec) -> list[str]:
    """IR constants, in the order the recurrent ops take them after the input: W, R, Wb, Rb, the initial states."""
    names = [ctx.constant("weights_x", spec.w), ctx.constant("weights_h", spec.r),
             ctx.constant("bias_x", spec.wb), ctx.constant("bias_h", spec.rb)]
    names += [ctx.constant(f"initial_{i}", state) for i, state in enumerate(spec.initial)]
    return names


def declare_outputs(ctx: ImportContext, roles: list[str]) -> tuple[list[str], list[str]]:
    """The node's outputs as IR tensors and their roles: those the model reads (the legacy exporter names Y_h and
    Y_c and leaves them unread; computing them would cost arena). An output named "" is absent."""
    assert ctx.node is not None
    graph = ctx.loaded.graph
    read = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    names = [name if name in read else "" for name in ctx.node.output]
    if not any(names):  # a dead node (removed later): keep its outputs declared
        names = list(ctx.node.output)
    for name in ctx.node.output:
        if name and name not in names:
            ctx.placeholder(name)  # defined for the importer, read by nothing
    outputs, present = [], []
    for role, name in zip(roles, names, strict=False):
        if name:
            outputs.append(ctx.output_value(name).runtime)
            present.append(role)
    return outputs, present


def sizes(node: Node) -> tuple[int, int, int, int]:
    """(steps, input size, hidden size, directions) of a recurrent layer."""
    a = node.attrs
    return a["steps"], a["input_size"], a["hidden"], a["directions"]


class RecurrentOp(Op):
    """What the LSTM and GRU ops share: internal state and MACs counted per step (`gates` matrices of
    H rows over the input and the hidden state)."""

    gates: int
    has_state = True

    def macs(self, node: Node, graph: Graph) -> int:
        """Per step gates * H * (I + H) multiply-accumulates, times steps and directions."""
        steps, size, hidden, directions = sizes(node)
        return self.gates * hidden * (size + hidden) * steps * directions

    def macs_note(self, node: Node, graph: Graph) -> str:
        steps, size, hidden, directions = sizes(node)
        per_step = self.gates * hidden * (size + hidden)
        return f"{per_step:,} MACs per step x {steps} steps" + (" x 2 directions" if directions == 2 else "")


def to_storage(values: np.ndarray, tensor: Tensor) -> np.ndarray:
    """Y as [T, D, H] (or a final state [D, H]) in the IR tensor's storage order: a rank-4 Y is a feature map
    to the layout pass ([T, D, 1, H] stored [T, 1, H, D]), which the rest of the graph then reads as such."""
    return tensor.layout.to_physical(values.reshape(tensor.onnx_shape)).reshape(tensor.shape)


def check_final_states(graph: Graph, node: Node) -> None:
    """The kernels write Y_h / Y_c as [D, H]: refuse a storage order that differs (a final state fed to a 1-D
    convolution as channels)."""
    for name, role in zip(node.outputs, node.attrs["roles"], strict=True):
        tensor = graph.tensors[name]
        size = tensor.size
        if role != "y" and not np.array_equal(to_storage(np.arange(size), tensor).ravel(), np.arange(size)):
            raise Unsupported(f"{node.name}: the final state '{name}' feeds a convolution as channels; tinygen "
                              "stores it [directions, hidden]")


def y_strides(tensor: Tensor, steps: int, directions: int, hidden: int) -> tuple[int, int, int]:
    """Element strides of (step, direction, unit) in Y's storage (to_storage), for the C kernel."""
    where = np.argsort(to_storage(np.arange(steps * directions * hidden), tensor).ravel())
    origin = int(where[0])
    return (int(where[directions * hidden]) - origin if steps > 1 else 0,
            int(where[hidden]) - origin if directions > 1 else 0, int(where[1]) - origin if hidden > 1 else 0)


# --- fixed point ----------------------------------------------------------------------------------

def scale_rounded(x: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """round(x * multiplier * 2^(shift - 31)), ties toward +infinity, in 64 bits: one rounding, no
    saturation (callers clamp). |x| < 2^31, multiplier in [0, 2^31), shift in [-31, 30]; C: tg_rnn_scale."""
    x = np.asarray(x, np.int64)
    n = 31 - np.asarray(shift, np.int64)
    return (x * np.asarray(multiplier, np.int64) + (np.int64(1) << (n - 1))) >> n


def round_shift(x: np.ndarray, n: int) -> np.ndarray:
    """round(x / 2^n), ties toward +infinity (n >= 1); C: tg_rnn_round_shift."""
    return (np.asarray(x, np.int64) + (1 << (n - 1))) >> n


def clamp16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, INT16_MIN, INT16_MAX)


def _table(function: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    points = (np.arange(513, dtype=np.float64) * (1 << TABLE_STEP_BITS) - 32768) / (1 << GATE_FRACTION_BITS)
    values = np.round(function(points) * (1 << STATE_FRACTION_BITS))
    return np.asarray(np.clip(values, INT16_MIN, INT16_MAX), np.int16)


SIGMOID_TABLE = _table(lambda x: 1.0 / (1.0 + np.exp(-x)))
TANH_TABLE = _table(np.tanh)


def lookup(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """f(x) for Q3.12 x by the 513-entry table, interpolated linearly: Q0.15 out; C: tg_rnn_lookup.
    (x + 2^15) >> 7 picks the segment, its low 7 bits the position in it."""
    u = np.asarray(x, np.int64) + 32768
    index, fraction = u >> TABLE_STEP_BITS, u & ((1 << TABLE_STEP_BITS) - 1)
    t = table.astype(np.int64)
    low, high = t[index], t[index + 1]  # index <= 511
    return low + (((high - low) * fraction + (1 << (TABLE_STEP_BITS - 1))) >> TABLE_STEP_BITS)


def gate_part(weights: np.ndarray, bias: np.ndarray, vector: np.ndarray, multiplier: np.ndarray,
              shift: np.ndarray) -> np.ndarray:
    """One matrix's share of the gate pre-activations, Q3.12: clamp16(scale(bias + W v)); C: tg_rnn_gate_part."""
    acc = weights.astype(np.int64) @ vector.astype(np.int64) + bias.astype(np.int64)
    return clamp16(scale_rounded(acc, multiplier, shift))


# --- quantization -------------------------------------------------------------------------------

@dataclass
class GateMatrix:
    """One direction's gate matrix quantized: int8 rows, int32 bias, the Q3.12 requantization per row."""

    weights: np.ndarray  # int8 [rows, depth]
    bias: np.ndarray  # int32 [rows]
    multiplier: np.ndarray  # int32 [rows]
    shift: np.ndarray  # int32 [rows]


def quantize_gates(weights: np.ndarray, bias: np.ndarray, input_scale: float) -> GateMatrix:
    """Symmetric int8 weights per row (each gate unit has its own scale), bias at s_in * s_w[row], and the
    multiplier s_in * s_w[row] * 2^12 that takes the accumulator to the Q3.12 pre-activation.

    Bound: |bias| + 127 * 255 * depth must stay below 2^31 (the accumulator). A row whose bias needs more
    gets a larger weight scale, as quantize_weights_and_bias does; with depth <= MAX_DEPTH the products take
    at most 2^28, leaving 2^30 for the bias."""
    depth = weights.shape[1]
    scales = np.maximum(np.abs(weights).max(axis=1).astype(np.float64) / 127.0, 1e-30)
    limit = float(2**31 - 1 - 127 * 255 * depth)
    needed = np.abs(bias.astype(np.float64)) / (np.float64(input_scale) * limit)
    scales = np.maximum(scales, needed * (1 + 1e-6)).astype(np.float32)
    q = np.clip(arith.round_half_away_array(weights / scales[:, None]), -127, 127).astype(np.int8)
    b = arith.round_half_away_array(bias.astype(np.float64) / (np.float64(input_scale) * scales.astype(np.float64)))
    reals = np.float64(input_scale) * scales.astype(np.float64) * (1 << GATE_FRACTION_BITS)
    multiplier, shift = arith.quantize_multipliers(reals)
    return GateMatrix(q, b.astype(np.int32), multiplier, shift)


def stack(matrices: list[GateMatrix]) -> GateMatrix:
    """The directions' matrices one after the other, as the kernels read them."""
    return GateMatrix(*(np.concatenate([getattr(m, f) for m in matrices]) for f in
                        ("weights", "bias", "multiplier", "shift")))


def output_multiplier(fraction_bits: int, scale: float) -> tuple[int, int]:
    """(multiplier, shift) taking a value with `fraction_bits` fractional bits to int8 steps of `scale`."""
    return arith.quantize_multiplier(2.0 ** -fraction_bits / float(scale))


def hidden_quant(graph: Graph, node: Node) -> QuantParams:
    """The hidden state's int8 parameters: those of the outputs holding it (Y, Y_h), which must agree."""
    roles = node.attrs["roles"]
    quants = [graph.tensors[name].quant for name, role in zip(node.outputs, roles, strict=True) if role in ("y", "y_h")]
    if not quants:  # only Y_c is used: the hidden state still runs, at the range calibration saw
        low, high = node.attrs.get("hidden_range", (-1.0, 1.0))
        return QuantParams.per_tensor(*arith.choose_activation_params(low, high))
    first = quants[0]
    assert first is not None
    for other in quants[1:]:
        if not first.same_as(other):
            raise Unsupported(f"{node.name}: Y and Y_h are quantized differently; tinygen stores one hidden state")
    return first


def clip_q312(clip: float | None) -> int:
    """ONNX's clip bounds the activations' inputs: as a Q3.12 bound (the int16 range when absent)."""
    return INT16_MAX if clip is None else int(min(INT16_MAX, math.floor(clip * (1 << GATE_FRACTION_BITS))))


# --- the float recurrence (calibration) ---------------------------------------------------------------

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def float_lstm(x: np.ndarray, w: np.ndarray, r: np.ndarray, wb: np.ndarray, rb: np.ndarray, h0: np.ndarray,
               c0: np.ndarray, reverse: bool, clip: float | None) -> tuple[np.ndarray, np.ndarray]:
    """One direction of ONNX LSTM in float64 (gate order i, o, f, c): (h [T, H], c [T, H])."""
    hidden = r.shape[1]
    h, c = h0.astype(np.float64), c0.astype(np.float64)
    hs, cs = [], []
    order = range(len(x) - 1, -1, -1) if reverse else range(len(x))
    for t in order:
        pre = w @ x[t] + wb + r @ h + rb
        if clip is not None:
            pre = np.clip(pre, -clip, clip)
        i, o, f, g = (pre[k * hidden:(k + 1) * hidden] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    if reverse:
        hs.reverse()
        cs.reverse()
    return np.array(hs), np.array(cs)


def float_gru(x: np.ndarray, w: np.ndarray, r: np.ndarray, wb: np.ndarray, rb: np.ndarray, h0: np.ndarray,
              reverse: bool, clip: float | None, linear_before_reset: int) -> np.ndarray:
    """One direction of ONNX GRU in float64 (gate order z, r, h): h [T, H]."""
    hidden = r.shape[1]
    h = h0.astype(np.float64)
    hs = []
    order = range(len(x) - 1, -1, -1) if reverse else range(len(x))

    def clipped(v: np.ndarray) -> np.ndarray:
        return v if clip is None else np.clip(v, -clip, clip)

    for t in order:
        gx = w @ x[t] + wb
        z = _sigmoid(clipped(gx[:hidden] + r[:hidden] @ h + rb[:hidden]))
        rr = _sigmoid(clipped(gx[hidden:2 * hidden] + r[hidden:2 * hidden] @ h + rb[hidden:2 * hidden]))
        if linear_before_reset:
            n_h = rr * (r[2 * hidden:] @ h + rb[2 * hidden:])
        else:
            n_h = r[2 * hidden:] @ (rr * h) + rb[2 * hidden:]
        n = np.tanh(clipped(gx[2 * hidden:] + n_h))
        h = (1 - z) * n + z * h
        hs.append(h)
    if reverse:
        hs.reverse()
    return np.array(hs)


def float_constants(graph: Graph, node: Node) -> list[np.ndarray]:
    """The node's float constants (inputs 1..): W, R, Wb, Rb, initial states."""
    arrays = []
    for name in node.inputs[1:]:
        data = graph.tensors[name].data
        assert data is not None
        arrays.append(data.astype(np.float64))
    return arrays


def directions_of(node: Node) -> list[bool]:
    """Per direction, whether it runs backwards."""
    return [False, True] if node.attrs["directions"] == 2 else [bool(node.attrs["reverse"])]


def range_of(arrays: list[np.ndarray]) -> tuple[float, float]:
    values = np.concatenate([a.ravel() for a in arrays])
    return float(values.min()), float(values.max())
