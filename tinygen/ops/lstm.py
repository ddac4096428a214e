"""LSTM: ONNX LSTM (forward, reverse, bidirectional; layout 0 or 1; constant initial states; Y, Y_h, Y_c in any
combination; clip) in TFLite's integer LSTM arithmetic, the recurrence looping in C (tg_lstm_s8.c).

Per direction and step t, with ONNX's gate order i, o, f, c (ops/recurrent.py has the shared arithmetic):
    pre[g]  = clamp16(scale(Wb_q + W x_t)) + clamp16(scale(Rb_q + R h_{t-1}))      int16 Q3.12, clipped to +-clip
    i, o, f = sigmoid(pre_i, pre_o, pre_f), g = tanh(pre_c)                          int16 Q0.15 (tables)
    c_t     = sat16(round(f c_{t-1} / 2^15) + round(i g / 2^(15 + cell_bits)))       int16 Q(cell_bits).(15 - cell_bits)
    h_t     = clamp8(zp_h + round(o tanh(c_t) * 2^-30 / s_h))                         int8, Y's parameters
The cell state's power-of-two scale covers the largest |c| calibration saw (the float recurrence run on the
calibration data, observe_ranges); without calibration data it covers |c_0| + steps, which no sequence can
exceed (|c_t| <= |c_{t-1}| + 1).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..ir import Graph, Node
from .base import Kernel, Unsupported, onnx_op, register
from .common import input_quant, int8_shifts, output_quant
from .recurrent import (
    SIGMOID_TABLE,
    STATE_FRACTION_BITS,
    TANH_TABLE,
    RecurrentOp,
    add_constants,
    cell_to_gate,
    check_final_states,
    clamp16,
    clip_q312,
    declare_outputs,
    directions_of,
    float_constants,
    float_lstm,
    gate_part,
    hidden_quant,
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

GATES = 4
ROLES = ["y", "y_h", "y_c"]


@onnx_op("LSTM", constraints="batch 1; default activations; constant weights, bias and initial states; no "
                             "peepholes, input_forget 0; sequence_lens absent or the full length")
def LSTM(ctx: ImportContext, X: Value, W: Value, R: Value, B: Value | None = None,
         sequence_lens: Value | None = None, initial_h: Value | None = None, initial_c: Value | None = None,
         P: Value | None = None, *, activation_alpha: list[float] | None = None,
         activation_beta: list[float] | None = None, activations: list[str] | None = None,
         clip: float | None = None, direction: str = "forward", hidden_size: int | None = None,
         input_forget: int = 0, layout: int = 0) -> None:
    if input_forget:
        raise Unsupported("input_forget=1 (coupled input and forget gates) is not supported")
    if P is not None and (P.const is None or np.any(P.const != 0)):
        raise Unsupported("peephole weights P are not supported")
    spec = read_recurrent(ctx, "LSTM", GATES, X, W, R, B, sequence_lens, [initial_h, initial_c],
                          activations=activations, activation_alpha=activation_alpha,
                          activation_beta=activation_beta, clip=clip, direction=direction,
                          hidden_size=hidden_size, layout=layout)
    constants = add_constants(ctx, spec)
    outputs, roles = declare_outputs(ctx, ROLES)
    if not outputs:
        raise Unsupported("none of Y, Y_h, Y_c is used")
    ctx.emit("lstm", [X.runtime, *constants], outputs, steps=spec.steps, input_size=spec.input_size,
             hidden=spec.hidden, directions=spec.directions, reverse=spec.reverse, clip=spec.clip, roles=roles)


def _scratch(node: Node, graph: Graph) -> int:
    """tg_lstm_s8_get_buffer_size: int16 input [I], hidden [H], gates [4H] and cell [H] vectors."""
    _, inputs, hidden, _ = sizes(node)
    return 2 * (inputs + 6 * hidden)


def cell_bits(absmax: float) -> int:
    """Integer bits of the cell state's Q format: the smallest power of two >= absmax, in [0, 15]."""
    return min(15, max(0, math.ceil(math.log2(absmax)))) if absmax > 1.0 else 0


@register
class LstmOp(RecurrentOp):
    name = "lstm"
    summary = "LSTM over a whole sequence (TFLite integer LSTM: int16 Q3.12 gates, int16 cell state)"
    kernels = (Kernel("tg_lstm_s8", "tg_lstm_params", scratch=_scratch),)
    gates = GATES

    def parameter_inputs(self, node: Node) -> list[str]:
        return node.inputs[1:5]  # W, R and their biases (not the initial states)

    def observe_ranges(self, node: Node, graph: Graph, samples: list[np.ndarray]) -> dict[str, tuple[float, float]]:
        w, r, wb, rb, h0, c0 = float_constants(graph, node)
        steps, inputs, _, _ = sizes(node)
        hs, cs, finals = [], [], []
        for sample in samples:
            x = sample.reshape(steps, inputs).astype(np.float64)
            for d, reverse in enumerate(directions_of(node)):
                h, c = float_lstm(x, w[d], r[d], wb[d], rb[d], h0[d], c0[d], reverse, node.attrs["clip"])
                hs += [h, h0[d]]
                cs.append(c)
                finals.append(c[0] if reverse else c[-1])
        node.attrs["cell_absmax"] = float(max(np.abs(np.concatenate([c.ravel() for c in cs])).max(),
                                              np.abs(c0).max()))
        node.attrs["hidden_range"] = range_of(hs)
        ranges = {}
        for name, role in zip(node.outputs, node.attrs["roles"], strict=True):
            ranges[name] = range_of(finals) if role == "y_c" else node.attrs["hidden_range"]
        return ranges

    def quantize(self, node: Node, graph: Graph) -> None:
        steps, _, _, directions = sizes(node)
        check_final_states(graph, node)
        in_scale, in_zp = input_quant(graph, node)
        hq = hidden_quant(graph, node)
        h_scale, h_zp = hq.scale_value, hq.zero_point_value
        w, r, wb, rb, h0, c0 = (graph.tensors[name].data for name in node.inputs[1:])
        assert w is not None and r is not None and wb is not None and rb is not None
        assert h0 is not None and c0 is not None
        absmax = node.attrs.get("cell_absmax", float(np.abs(c0).max()) + steps)
        bits = cell_bits(absmax)
        gx = stack([quantize_gates(w[d], wb[d], in_scale) for d in range(directions)])
        gh = stack([quantize_gates(r[d], rb[d], h_scale) for d in range(directions)])
        init_h = arith.quantize_float(h0.astype(np.float32), h_scale, h_zp)
        init_c = clamp16(arith.round_half_away_array(c0 * 2.0 ** (STATE_FRACTION_BITS - bits))).astype(np.int16)
        for name, array in zip(node.inputs[1:], [gx.weights, gh.weights, gx.bias, gh.bias, init_h, init_c],
                               strict=True):
            tensor = graph.tensors[name]
            tensor.data, tensor.dtype, tensor.quant, tensor.shape = array, str(array.dtype), None, tuple(array.shape)
        hidden_m, hidden_s = output_multiplier(2 * STATE_FRACTION_BITS, h_scale)
        cell_m = cell_s = cell_zp = 0
        if "y_c" in node.attrs["roles"]:
            c_scale, cell_zp = output_quant(graph, node, node.attrs["roles"].index("y_c"))
            cell_m, cell_s = output_multiplier(STATE_FRACTION_BITS - bits, c_scale)
        node.params = {"input_offset": -in_zp, "hidden_zero_point": h_zp, "cell_bits": bits,
                       "clip": clip_q312(node.attrs["clip"]),
                       "multiplier_x": gx.multiplier, "shift_x": gx.shift,
                       "multiplier_h": gh.multiplier, "shift_h": gh.shift,
                       "hidden_multiplier": hidden_m, "hidden_shift": hidden_s,
                       "cell_multiplier": cell_m, "cell_shift": cell_s, "cell_zero_point": cell_zp}

    def reference(self, node: Node, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
        p = node.params
        steps, size, hidden, directions = sizes(node)
        wx, wh, bx, bh, init_h, init_c = (graph.tensors[name].data for name in node.inputs[1:])
        assert wx is not None and wh is not None and bx is not None and bh is not None
        assert init_h is not None and init_c is not None
        rows = GATES * hidden
        xv = inputs[0].reshape(steps, size).astype(np.int64) + p["input_offset"]
        y = np.zeros((steps, directions, hidden), np.int64)
        y_h = np.zeros((directions, hidden), np.int64)
        y_c = np.zeros((directions, hidden), np.int64)
        bits = p["cell_bits"]
        for d, reverse in enumerate(directions_of(node)):
            part = slice(d * rows, (d + 1) * rows)
            h = init_h[d].astype(np.int64)
            c = init_c[d].astype(np.int64)
            for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
                pre = clamp16(gate_part(wx[part], bx[part], xv[t], p["multiplier_x"][part], p["shift_x"][part])
                              + gate_part(wh[part], bh[part], h - p["hidden_zero_point"], p["multiplier_h"][part],
                                          p["shift_h"][part]))
                pre = np.clip(pre, -p["clip"], p["clip"])
                i, o, f = (lookup(SIGMOID_TABLE, pre[k * hidden:(k + 1) * hidden]) for k in range(3))
                g = lookup(TANH_TABLE, pre[3 * hidden:])
                c = clamp16(round_shift(f * c, STATE_FRACTION_BITS)
                            + round_shift(i * g, STATE_FRACTION_BITS + bits))
                t_c = lookup(TANH_TABLE, cell_to_gate(c, bits))
                h = np.clip(p["hidden_zero_point"] + scale_rounded(o * t_c, p["hidden_multiplier"],
                                                                   p["hidden_shift"]), -128, 127)
                y[t, d] = h
            y_h[d] = h
            y_c[d] = np.clip(p["cell_zero_point"] + scale_rounded(c, p["cell_multiplier"], p["cell_shift"]),
                             -128, 127)
        results = {"y": y, "y_h": y_h, "y_c": y_c}
        return [to_storage(results[role].astype(np.int8), graph.tensors[name])
                for name, role in zip(node.outputs, node.attrs["roles"], strict=True)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        steps, size, hidden, directions = sizes(node)
        fields = [
            ("steps", str(steps)), ("input_size", str(size)), ("hidden_size", str(hidden)),
            ("directions", str(directions)), ("reverse", "1" if node.attrs["reverse"] else "0"),
            ("input_offset", str(p["input_offset"])), ("hidden_zero_point", str(p["hidden_zero_point"])),
            ("cell_bits", str(p["cell_bits"])), ("clip", str(p["clip"])),
            ("weights_x", ctx.pointer(node.inputs[1], "weights_x")),
            ("weights_h", ctx.pointer(node.inputs[2], "weights_h")),
            ("bias_x", ctx.pointer(node.inputs[3], "bias_x")),
            ("bias_h", ctx.pointer(node.inputs[4], "bias_h")),
            ("multiplier_x", ctx.array("multiplier_x", p["multiplier_x"], "input-to-gate multipliers (Q3.12 out)")),
            ("shift_x", ctx.array("shift_x", int8_shifts(p["shift_x"]), "input-to-gate shifts")),
            ("multiplier_h", ctx.array("multiplier_h", p["multiplier_h"], "recurrent-to-gate multipliers")),
            ("shift_h", ctx.array("shift_h", int8_shifts(p["shift_h"]), "recurrent-to-gate shifts")),
            ("hidden_multiplier", str(p["hidden_multiplier"])), ("hidden_shift", str(p["hidden_shift"])),
            ("cell_multiplier", str(p["cell_multiplier"])), ("cell_shift", str(p["cell_shift"])),
            ("cell_zero_point", str(p["cell_zero_point"])),
            ("initial_h", ctx.pointer(node.inputs[5], "initial_h")),
            ("initial_c", ctx.pointer(node.inputs[6], "initial_c")),
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

