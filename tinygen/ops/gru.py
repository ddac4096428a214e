"""GRU: ONNX GRU (forward, reverse, bidirectional; layout 0 or 1; linear_before_reset 0 and 1; a constant
initial state; Y and Y_h in any combination; clip) in the integer scheme of ops/lstm.py, the recurrence
looping in C (tg_gru_s8.c).

Per direction and step t, with ONNX's gate order z, r, h:
    z, r = sigmoid(clamp16(scale(Wb_q + W x_t)) + clamp16(scale(Rb_q + R h8_{t-1})))       Q3.12 -> Q0.15
    linear_before_reset 0:  n = tanh(part_x + clamp16(scale(Rb_q + R round(r (h8 - zp_h) / 2^15))))
    linear_before_reset 1:  n = tanh(part_x + round(r clamp16(scale(Rb_q + R h8)) / 2^15))
    state_t = sat16(n + round(z (state_{t-1} - n) / 2^15))                                    Q0.15
    h8_t    = clamp8(zp_h + round(state_t * 2^-15 / s_h))
    Y_t     = clamp8(zp_Y + round(state_t * 2^-15 / s_Y)),  Y_h = the same from the final state with s_Y_h
The state keeps 15 fractional bits between steps (h stays in (-1, 1) for an initial state there), so the
int8 rounding of h does not accumulate over the sequence; the int8 copy h8 feeds R only. Its scale s_h
covers the hidden state at every step the calibration saw (or (-1, 1) without calibration); Y and Y_h are
rounded from the Q0.15 state once, each with parameters of its own: Y_h at the range of the final states
(often narrower than all steps'), and either at the parameters a QDQ model gives it. A model reading the
last step of Y through Gather / Slice reads Y_h instead (passes/fold_last_step.py), so that range is the
one calibrated and Y needs no arena.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..ir import Graph, Node
from .base import Kernel, Unsupported, onnx_op, register
from .common import input_quant, int8_shifts
from .recurrent import (
    SIGMOID_TABLE,
    STATE_FRACTION_BITS,
    TANH_TABLE,
    RecurrentOp,
    add_constants,
    check_final_states,
    clamp16,
    clip_q312,
    declare_outputs,
    directions_of,
    float_constants,
    float_gru,
    gate_part,
    lookup,
    output_multiplier,
    quantize_gates,
    range_of,
    read_recurrent,
    round_shift,
    scale_rounded,
    sizes,
    stack,
    to_storage,
    y_strides,
)

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext
    from .onnx_import import ImportContext, Value

GATES = 3
ROLES = ["y", "y_h"]


@onnx_op("GRU", constraints="batch 1; default activations; constant weights, bias and initial state (|h_0| < 1); "
                            "sequence_lens absent or the full length")
def GRU(ctx: ImportContext, X: Value, W: Value, R: Value, B: Value | None = None,
        sequence_lens: Value | None = None, initial_h: Value | None = None, *,
        activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
        activations: list[str] | None = None, clip: float | None = None, direction: str = "forward",
        hidden_size: int | None = None, layout: int = 0, linear_before_reset: int = 0) -> None:
    spec = read_recurrent(ctx, "GRU", GATES, X, W, R, B, sequence_lens, [initial_h],
                          activations=activations, activation_alpha=activation_alpha,
                          activation_beta=activation_beta, clip=clip, direction=direction,
                          hidden_size=hidden_size, layout=layout)
    if np.abs(spec.initial[0]).max(initial=0.0) >= 1.0:
        raise Unsupported("the initial state initial_h reaches beyond (-1, 1); tinygen keeps the GRU state in Q0.15")
    spec.initial.append(spec.initial[0])  # the state twice: as int8 h (input 5) and in Q0.15 (input 6)
    constants = add_constants(ctx, spec)
    outputs, roles = declare_outputs(ctx, ROLES)
    if not outputs:
        raise Unsupported("neither Y nor Y_h is used")
    ctx.emit("gru", [X.runtime, *constants], outputs, steps=spec.steps, input_size=spec.input_size,
             hidden=spec.hidden, directions=spec.directions, reverse=spec.reverse, clip=spec.clip, roles=roles,
             linear_before_reset=int(bool(linear_before_reset)))


def _scratch(node: Node, graph: Graph) -> int:
    """tg_gru_s8_get_buffer_size: int16 input [I], hidden [H], gates [3H], reset part [H], state [H]."""
    _, inputs, hidden, _ = sizes(node)
    return 2 * (inputs + 6 * hidden)


@register
class GruOp(RecurrentOp):
    name = "gru"
    summary = "GRU over a whole sequence (int16 Q3.12 gates, Q0.15 state)"
    kernels = (Kernel("tg_gru_s8", "tg_gru_params", scratch=_scratch),)
    gates = GATES

    def parameter_inputs(self, node: Node) -> list[str]:
        return node.inputs[1:5]  # W, R and their biases (not the initial states)

    separate_output_quant = True  # Y and Y_h are rounded from the Q0.15 state with parameters of their own

    def observe_ranges(self, node: Node, graph: Graph, samples: list[np.ndarray]) -> dict[str, tuple[float, float]]:
        """The hidden state's range over every step (h8's, and Y's) and over the final states (Y_h's)."""
        w, r, wb, rb, h0, _ = float_constants(graph, node)
        steps, inputs, _, _ = sizes(node)
        hs, finals = [], []
        for sample in samples:
            x = sample.reshape(steps, inputs).astype(np.float64)
            for d, reverse in enumerate(directions_of(node)):
                h = float_gru(x, w[d], r[d], wb[d], rb[d], h0[d], reverse, node.attrs["clip"],
                              node.attrs["linear_before_reset"])
                hs += [h, h0[d]]
                finals.append(h[0] if reverse else h[-1])
        node.attrs["hidden_range"] = range_of(hs)
        final_range = range_of(finals)
        return {name: node.attrs["hidden_range"] if role == "y" else final_range
                for name, role in zip(node.outputs, node.attrs["roles"], strict=True)}

    def quantize(self, node: Node, graph: Graph) -> None:
        _, _, _, directions = sizes(node)
        check_final_states(graph, node)
        in_scale, in_zp = input_quant(graph, node)
        h_scale, h_zp = _state_quant(graph, node)
        w, r, wb, rb, h0, _ = (graph.tensors[name].data for name in node.inputs[1:])
        assert w is not None and r is not None and wb is not None and rb is not None and h0 is not None
        gx = stack([quantize_gates(w[d], wb[d], in_scale) for d in range(directions)])
        gh = stack([quantize_gates(r[d], rb[d], h_scale) for d in range(directions)])
        init_h = arith.quantize_float(h0.astype(np.float32), h_scale, h_zp)
        init_state = clamp16(arith.round_half_away_array(h0 * 2.0 ** STATE_FRACTION_BITS)).astype(np.int16)
        for name, array in zip(node.inputs[1:], [gx.weights, gh.weights, gx.bias, gh.bias, init_h, init_state],
                               strict=True):
            tensor = graph.tensors[name]
            tensor.data, tensor.dtype, tensor.quant, tensor.shape = array, str(array.dtype), None, tuple(array.shape)
        hidden_m, hidden_s = output_multiplier(STATE_FRACTION_BITS, h_scale)
        node.params = {"input_offset": -in_zp, "hidden_zero_point": h_zp, "clip": clip_q312(node.attrs["clip"]),
                       "multiplier_x": gx.multiplier, "shift_x": gx.shift,
                       "multiplier_h": gh.multiplier, "shift_h": gh.shift,
                       "hidden_multiplier": hidden_m, "hidden_shift": hidden_s}
        for role in ROLES:  # each output's own rounding of the Q0.15 state (0: not computed)
            multiplier, shift, zero_point = 0, 0, 0
            if role in node.attrs["roles"]:
                quant = graph.tensors[node.outputs[node.attrs["roles"].index(role)]].quant
                assert quant is not None
                multiplier, shift = output_multiplier(STATE_FRACTION_BITS, quant.scale_value)
                zero_point = quant.zero_point_value
            node.params.update({f"{role}_multiplier": multiplier, f"{role}_shift": shift,
                                f"{role}_zero_point": zero_point})

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        steps, size, hidden, directions = sizes(node)
        wx, wh, bx, bh, init_h, init_state = (graph.tensors[name].data for name in node.inputs[1:])
        assert wx is not None and wh is not None and bx is not None and bh is not None
        assert init_h is not None and init_state is not None
        rows = GATES * hidden
        zp = p["hidden_zero_point"]
        xv = inputs[0].reshape(steps, size).astype(np.int64) + p["input_offset"]
        y = np.zeros((steps, directions, hidden), np.int64)
        y_h = np.zeros((directions, hidden), np.int64)
        for d, reverse in enumerate(directions_of(node)):
            h8 = init_h[d].astype(np.int64)
            state = init_state[d].astype(np.int64)
            zr, cand = slice(d * rows, d * rows + 2 * hidden), slice(d * rows + 2 * hidden, (d + 1) * rows)

            def part(matrix: np.ndarray, bias: np.ndarray, rows_: slice, vector: np.ndarray, side: str) -> np.ndarray:
                return gate_part(matrix[rows_], bias[rows_], vector, p[f"multiplier_{side}"][rows_],
                                 p[f"shift_{side}"][rows_])

            for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
                hv = h8 - zp
                pre = clamp16(part(wx, bx, zr, xv[t], "x") + part(wh, bh, zr, hv, "h"))
                gates = lookup(SIGMOID_TABLE, np.clip(pre, -p["clip"], p["clip"]))
                z, r = gates[:hidden], gates[hidden:]
                n_x = part(wx, bx, cand, xv[t], "x")
                if node.attrs["linear_before_reset"]:
                    n_pre = clamp16(n_x + round_shift(r * part(wh, bh, cand, hv, "h"), STATE_FRACTION_BITS))
                else:
                    n_pre = clamp16(n_x + part(wh, bh, cand, round_shift(r * hv, STATE_FRACTION_BITS), "h"))
                n = lookup(TANH_TABLE, np.clip(n_pre, -p["clip"], p["clip"]))
                state = clamp16(n + round_shift(z * (state - n), STATE_FRACTION_BITS))
                h8 = _rounded(state, p, "hidden")
                y[t, d] = _rounded(state, p, "y")
            y_h[d] = _rounded(state, p, "y_h")
        results = {"y": y, "y_h": y_h}
        return [to_storage(results[role].astype(np.int8), graph.tensors[name])
                for name, role in zip(node.outputs, node.attrs["roles"], strict=True)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        steps, size, hidden, directions = sizes(node)
        fields = [
            ("steps", str(steps)), ("input_size", str(size)), ("hidden_size", str(hidden)),
            ("directions", str(directions)), ("reverse", "1" if node.attrs["reverse"] else "0"),
            ("input_offset", str(p["input_offset"])), ("hidden_zero_point", str(p["hidden_zero_point"])),
            ("linear_before_reset", str(node.attrs["linear_before_reset"])), ("clip", str(p["clip"])),
            ("weights_x", ctx.pointer(node.inputs[1], "weights_x")),
            ("weights_h", ctx.pointer(node.inputs[2], "weights_h")),
            ("bias_x", ctx.pointer(node.inputs[3], "bias_x")),
            ("bias_h", ctx.pointer(node.inputs[4], "bias_h")),
            ("multiplier_x", ctx.array("multiplier_x", p["multiplier_x"], "input-to-gate multipliers (Q3.12 out)")),
            ("shift_x", ctx.array("shift_x", int8_shifts(p["shift_x"]), "input-to-gate shifts")),
            ("multiplier_h", ctx.array("multiplier_h", p["multiplier_h"], "recurrent-to-gate multipliers")),
            ("shift_h", ctx.array("shift_h", int8_shifts(p["shift_h"]), "recurrent-to-gate shifts")),
            ("hidden_multiplier", str(p["hidden_multiplier"])), ("hidden_shift", str(p["hidden_shift"])),
        ] + [(f"{role}_{field}", str(int(p[f"{role}_{field}"]))) for role in ROLES
             for field in ("multiplier", "shift", "zero_point")] + [
            ("initial_h", ctx.pointer(node.inputs[5], "initial_h")),
            ("initial_state", ctx.pointer(node.inputs[6], "initial_state")),
            ("sigmoid_table", ctx.array("sigmoid_table", SIGMOID_TABLE, "sigmoid, Q3.12 -> Q0.15, every 1/32")),
            ("tanh_table", ctx.array("tanh_table", TANH_TABLE, "tanh, Q3.12 -> Q0.15, every 1/32")),
        ]
        outputs = dict(zip(node.attrs["roles"], node.outputs, strict=True))
        strides = y_strides(graph.tensors[outputs["y"]], steps, directions, hidden) if "y" in outputs else (0, 0, 0)
        fields += [(f"y_{axis}_stride", str(stride)) for axis, stride in zip(("step", "direction", "unit"), strides,
                                                                                strict=True)]
        args = [ctx.pointer(node.inputs[0])] + [ctx.pointer(outputs[role]) if role in outputs else "NULL"
                                                for role in ROLES]
        return ctx.call(fields, args)


def _state_quant(graph: Graph, node: Node) -> tuple[float, int]:
    """h8's (scale, zero point): the calibrated range of the hidden state over every step; without
    calibration (a QDQ model giving the outputs their parameters), Y's parameters when the model reads Y,
    else (-1, 1), which holds every GRU state that starts there."""
    if "hidden_range" in node.attrs:
        return arith.choose_activation_params(*node.attrs["hidden_range"])
    if "y" in node.attrs["roles"]:
        quant = graph.tensors[node.outputs[node.attrs["roles"].index("y")]].quant
        assert quant is not None
        return quant.scale_value, quant.zero_point_value
    return arith.choose_activation_params(-1.0, 1.0)


def _rounded(state: np.ndarray, p: dict, role: str) -> np.ndarray:
    """The Q0.15 state as int8 with a role's parameters: clamp8(zp + round(state 2^-15 / s)) (C: tg_gru_round)."""
    return np.clip(p[f"{role}_zero_point"] + scale_rounded(state, p[f"{role}_multiplier"], p[f"{role}_shift"]),
                   -128, 127)
