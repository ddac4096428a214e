"""LSTM: ONNX LSTM (forward, reverse, bidirectional; layout 0 or 1; constant initial states; Y, Y_h, Y_c in any
combination; clip) and TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM (frontend/tflite_ops.py), both in TensorFlow Lite
Micro's integer LSTM arithmetic ("8x8_16", its lstm_eval), the recurrence looping in C (tg_lstm_s8.c).

Per direction and step t, with ONNX's gate order i, o, f, c (MBQM = TFLite's MultiplyByQuantizedMultiplier,
its double rounding; sat16 = clamp to int16):
    pre[g]  = sat16(sat16(MBQM(Wb_q + W (x_t - zp_x), s_x s_w / 2^-12))
                    + sat16(MBQM(Rb_q + R (h_{t-1} - zp_h), s_h s_r / 2^-12)))       int16 Q3.12 (+-clip for ONNX)
    i, o, f = sigmoid16(pre_i, pre_o, pre_f), g = tanh16(pre_c)                      int16 Q0.15, TFLM's int16
                                                                                     Logistic / Tanh
    c_t     = clip(sat16(sat16(MBQM(f c_{t-1}, 2^-15)) + sat16(MBQM(i g, 2^-30 / s_c))))   int16, scale s_c
    h_t     = clamp8(zp_h + MBQM(tanh16(c_t rescaled) o, 2^-30 / s_h))                 int8
    Y_t     = clamp8(zp_Y + MBQM(tanh16(c_t rescaled) o, 2^-30 / s_Y))  (Y_h alike, at the last step)
A .tflite file gives every scale (the weights per tensor, the cell state's power-of-two scale, the cell clip),
and its hidden state has its output's parameters (Y = h_t, as TFLM writes it). An ONNX model's weights get a
scale per gate row and the cell state the smallest power of two covering the largest |c| calibration saw (the
float recurrence run on the calibration data, observe_ranges); without calibration data |c_0| + steps, which
no sequence can exceed (|c_t| <= |c_{t-1}| + 1). Its hidden state h_t gets the range of every step, and Y and
Y_h are rounded once each from the same product with parameters of their own (`separate_output_quant`,
passes/fold_last_step.py): the last step read through Gather becomes Y_h with the final states' range, Y read
by one movement gets the range of the elements read, and a QDQ model's parameters for them are written at once
instead of by a second rounding (a requantization) after the layer. ONNX's recurrent bias Rb is TFLM's
recurrent fully connected bias (absent in TFLite).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import arith
from ..ir import Graph, Node, Tensor
from . import sigmoid_s16
from .base import Kernel, Unsupported, onnx_op, op_of, register
from .common import input_quant, int8_shifts, output_quant
from .recurrent import (
    GATE_FRACTION_BITS,
    STATE_FRACTION_BITS,
    GateMatrix,
    RecurrentOp,
    add_constants,
    check_final_states,
    clamp16,
    clip_q312,
    declare_outputs,
    directions_of,
    float_constants,
    float_lstm,
    hidden_quant,
    quantize_gates,
    range_of,
    read_recurrent,
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
NO_CELL_CLIP = 32768  # tg_lstm_params.cell_clip: clamping an int16 to [-32768, 32768] changes nothing


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
    """Integer bits of an ONNX model's cell state (scale 2^(bits - 15)): the smallest power of two >= absmax,
    in [0, 15]."""
    return min(15, max(0, math.ceil(math.log2(absmax)))) if absmax > 1.0 else 0


def cell_scale_power(scale: float) -> int:
    """log2 of the cell state's scale as TFLM's CheckedLog2 takes it (float32 log, rounded half away from
    zero): the exponent its int16 Tanh uses, exact for the power-of-two scales the converter writes."""
    value = np.float32(np.log(np.float32(scale))) * (np.float32(1.0) / np.float32(np.log(np.float32(2.0))))
    return int(math.copysign(math.floor(abs(float(value)) + 0.5), float(value)))


def tanh_input_rescale(power: int) -> tuple[int, int]:
    """(multiplier, right shift) that take an int16 with scale 2^power to the input of TFLM's int16 Tanh
    (Q3.12 times 3, its "3/4 of the range" scaling): TFLM's lstm_internal::Tanh gives a left shift
    15 + power - 3 as the multiplier 3 << shift, a right shift as multiplier 3 and a rounding shift."""
    shift = 15 + power - 3
    return (3 << shift, 0) if shift >= 0 else (3, -shift)


def sigmoid16(x: np.ndarray) -> np.ndarray:
    """TFLM's int16 Logistic on Q3.12 gates (input multiplier 3, no shift; ops/sigmoid_s16.py): Q0.15 out."""
    return sigmoid_s16.reference("sigmoid", {"input_multiplier": 3, "input_left_shift": 0}, x).astype(np.int64)


def tanh16(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLM's int16 Tanh after the input rescale (x * multiplier + round) >> shift (ops/sigmoid_s16.py)."""
    return sigmoid_s16.reference("tanh", {"input_multiplier": multiplier, "input_left_shift": shift},
                                 x).astype(np.int64)


def _mbqm16(x: np.ndarray, multiplier: int | np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """sat16(MBQM(x)): TFLM's int16-output fully connected and Mul (no output offset)."""
    return clamp16(arith.multiply_by_quantized_multiplier(x, multiplier, shift))


def _gate_matrix(weights: Tensor, bias: Tensor, input_scale: float, depth: int) -> GateMatrix:
    """A matrix that arrives quantized (a .tflite file): its int8 rows and int32 bias as they are, the
    multiplier per row s_in * s_w / 2^-12 in double (TFLM's CreateGateParams through its fully connected
    Prepare)."""
    assert weights.data is not None and weights.quant is not None and bias.data is not None
    rows = weights.data.reshape(-1, depth)
    scales = np.broadcast_to(weights.quant.scale, (len(rows),)).astype(np.float64)
    multiplier, shift = arith.quantize_multipliers(np.float64(input_scale) * scales
                                                   / np.float64(2.0 ** -GATE_FRACTION_BITS))
    return GateMatrix(rows.astype(np.int8), bias.data.reshape(-1).astype(np.int32), multiplier, shift)


def _round8(product: np.ndarray, p: dict, role: str) -> np.ndarray:
    """tanh(c) o (Q0.30) as int8 in one role's parameters: clamp8(zp + MBQM(product, 2^-30 / s)) (C:
    tg_lstm_round8; the hidden state's zero point is hidden_zero_point)."""
    zero_point = p["hidden_zero_point" if role == "hidden" else f"{role}_zero_point"]
    return np.clip(zero_point + arith.multiply_by_quantized_multiplier(product, p[f"{role}_multiplier"],
                                                                       p[f"{role}_shift"]), -128, 127)


def _read_range(graph: Graph, name: str, ys: list[np.ndarray], every_step: tuple[float, float]) -> tuple[float, float]:
    """Y's calibrated range: that of the values the model reads from it where its one reader only moves values
    (a copy or view: the bidirectional `output[:, -1]`, the forward direction's last step and the reverse
    one's first, narrower than every step's), else every step's. Y is rounded from the state with its own
    parameters, so elements nothing reads need not fit."""
    readers = graph.consumers(name)
    if len(readers) != 1 or graph.is_graph_output(name) or readers[0].inputs != [name]:
        return every_step
    index_map = op_of(readers[0]).index_map(readers[0], graph)
    if index_map is None or index_map.size == 0:
        return every_step
    tensor = graph.tensors[name]
    return range_of([to_storage(y, tensor).ravel()[index_map] for y in ys])


def _state_quant(graph: Graph, node: Node) -> tuple[float, int]:
    """h_t's (scale, zero point). A .tflite file's: its output's, as TFLM writes h_t to it. An ONNX model's
    (Y's and Y_h's parameters are separate): the calibrated range over every step; without calibration (a
    model whose LSTM input is already quantized), Y's parameters when the model reads Y, else (-1, 1), which
    holds every LSTM hidden state."""
    if graph.tensors[node.inputs[1]].dtype == "int8":
        quant = hidden_quant(graph, node)
        return quant.scale_value, quant.zero_point_value
    if "hidden_range" in node.attrs:
        return arith.choose_activation_params(*node.attrs["hidden_range"])
    if "y" in node.attrs["roles"]:
        return output_quant(graph, node, node.attrs["roles"].index("y"))
    return arith.choose_activation_params(-1.0, 1.0)


@register
class LstmOp(RecurrentOp):
    name = "lstm"
    summary = "LSTM over a whole sequence (TFLite Micro's integer LSTM: int16 Q3.12 gates, int16 cell state)"
    kernels = (Kernel("tg_lstm_s8", "tg_lstm_params", scratch=_scratch),)
    gates = GATES
    separate_output_quant = True  # Y and Y_h are rounded from tanh(c) o with parameters of their own

    def parameter_inputs(self, node: Node) -> list[str]:
        # W, R and their biases (not the initial states); a .tflite LSTM has no recurrent bias (zeros here)
        return node.inputs[1:5] if node.attrs.get("recurrent_bias", True) else node.inputs[1:4]

    def observe_ranges(self, node: Node, graph: Graph, samples: list[np.ndarray]) -> dict[str, tuple[float, float]]:
        """The hidden state's range over every step (h_t's, and Y's), over the final states (Y_h's) and the
        final cells (Y_c's); the largest |c| of any step gives the cell state's scale."""
        w, r, wb, rb, h0, c0 = float_constants(graph, node)
        steps, inputs, _, _ = sizes(node)
        hs, cs, finals, final_hs, ys = [], [], [], [], []
        for sample in samples:
            x = sample.reshape(steps, inputs).astype(np.float64)
            per_direction = []
            for d, reverse in enumerate(directions_of(node)):
                h, c = float_lstm(x, w[d], r[d], wb[d], rb[d], h0[d], c0[d], reverse, node.attrs["clip"])
                per_direction.append(h)
                hs += [h, h0[d]]
                cs.append(c)
                finals.append(c[0] if reverse else c[-1])
                final_hs.append(h[0] if reverse else h[-1])
            ys.append(np.stack(per_direction, axis=1))  # [T, D, H]
        node.attrs["cell_absmax"] = float(max(np.abs(np.concatenate([c.ravel() for c in cs])).max(),
                                              np.abs(c0).max()))
        node.attrs["hidden_range"] = range_of(hs)
        by_role = {"y_h": range_of(final_hs), "y_c": range_of(finals)}
        return {name: _read_range(graph, name, ys, node.attrs["hidden_range"]) if role == "y" else by_role[role]
                for name, role in zip(node.outputs, node.attrs["roles"], strict=True)}

    def quantize(self, node: Node, graph: Graph) -> None:
        """An ONNX model's float constants are quantized here; a .tflite file's arrive as int8 weights, int32
        biases and int8 / int16 initial states with the file's parameters (attrs cell_scale, cell_clip)."""
        steps, size, hidden, directions = sizes(node)
        check_final_states(graph, node)
        in_scale, in_zp = input_quant(graph, node)
        h_scale, h_zp = _state_quant(graph, node)
        tensors = [graph.tensors[name] for name in node.inputs[1:]]
        w, r, wb, rb, h0, c0 = (t.data for t in tensors)
        assert w is not None and r is not None and wb is not None and rb is not None
        assert h0 is not None and c0 is not None
        if tensors[0].dtype == "int8":  # quantized by the file
            gx = _gate_matrix(tensors[0], tensors[2], in_scale, size)
            gh = _gate_matrix(tensors[1], tensors[3], h_scale, hidden)
            cell_scale = float(node.attrs["cell_scale"])
            init_h, init_c = h0.astype(np.int8), c0.astype(np.int16)
        else:
            absmax = node.attrs.get("cell_absmax", float(np.abs(c0).max()) + steps)
            cell_scale = 2.0 ** (cell_bits(absmax) - STATE_FRACTION_BITS)
            gx = stack([quantize_gates(w[d], wb[d], in_scale) for d in range(directions)])
            gh = stack([quantize_gates(r[d], rb[d], h_scale) for d in range(directions)])
            init_h = arith.quantize_float(h0.astype(np.float32), h_scale, h_zp)
            init_c = clamp16(arith.round_half_away_array(c0 / cell_scale)).astype(np.int16)
        for tensor, array in zip(tensors, [gx.weights, gh.weights, gx.bias, gh.bias, init_h, init_c], strict=True):
            tensor.data, tensor.dtype, tensor.quant, tensor.shape = array, str(array.dtype), None, tuple(array.shape)
        power = cell_scale_power(cell_scale)
        assert -30 <= power <= 0, f"{node.name}: cell scale 2^{power}"  # the TFLite mapping refuses others
        # TFLM's CreateInterGateMulParams: every gate output has scale 2^-15; products rescaled in double.
        gate = np.float64(2.0 ** -STATE_FRACTION_BITS)
        forget_m, forget_s = arith.quantize_multiplier(gate * np.float64(cell_scale) / np.float64(cell_scale))
        input_m, input_s = arith.quantize_multiplier(gate * gate / np.float64(cell_scale))
        hidden_m, hidden_s = arith.quantize_multiplier(gate * gate / np.float64(h_scale))
        tanh_m, tanh_s = tanh_input_rescale(power)
        clip = node.attrs.get("cell_clip") or 0.0
        cell_clip = NO_CELL_CLIP if clip <= 0 else int(
            min(max(np.float64(np.float32(clip)) / np.float64(np.float32(cell_scale)), -32768.0), 32767.0))
        cell_m = cell_s = cell_zp = 0
        if "y_c" in node.attrs["roles"]:
            c_scale, cell_zp = output_quant(graph, node, node.attrs["roles"].index("y_c"))
            cell_m, cell_s = arith.quantize_multiplier(np.float64(cell_scale) / np.float64(c_scale))
        node.params = {"input_offset": -in_zp, "hidden_zero_point": h_zp, "gate_clip": clip_q312(node.attrs["clip"]),
                       "cell_clip": cell_clip, "cell_scale": cell_scale,
                       "multiplier_x": gx.multiplier, "shift_x": gx.shift,
                       "multiplier_h": gh.multiplier, "shift_h": gh.shift,
                       "forget_multiplier": forget_m, "forget_shift": forget_s,
                       "input_multiplier": input_m, "input_shift": input_s,
                       "hidden_multiplier": hidden_m, "hidden_shift": hidden_s,
                       "tanh_multiplier": tanh_m, "tanh_shift": tanh_s,
                       "cell_multiplier": cell_m, "cell_shift": cell_s, "cell_zero_point": cell_zp}
        for role in ("y", "y_h"):  # each output's own rounding of tanh(c) o, Q0.30 (0: not computed)
            multiplier, shift, zero_point = 0, 0, 0
            if role in node.attrs["roles"]:
                out_scale, zero_point = output_quant(graph, node, node.attrs["roles"].index(role))
                multiplier, shift = arith.quantize_multiplier(gate * gate / np.float64(out_scale))
            node.params.update({f"{role}_multiplier": multiplier, f"{role}_shift": shift,
                                f"{role}_zero_point": zero_point})

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
        zp = p["hidden_zero_point"]
        for d, reverse in enumerate(directions_of(node)):
            part = slice(d * rows, (d + 1) * rows)
            h = init_h[d].astype(np.int64)
            c = init_c[d].astype(np.int64)
            for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
                from_x = _mbqm16(wx[part].astype(np.int64) @ xv[t] + bx[part], p["multiplier_x"][part],
                                 p["shift_x"][part])
                from_h = _mbqm16(wh[part].astype(np.int64) @ (h - zp) + bh[part], p["multiplier_h"][part],
                                 p["shift_h"][part])
                pre = np.clip(clamp16(from_x + from_h), -p["gate_clip"], p["gate_clip"])
                i, o, f = (sigmoid16(pre[k * hidden:(k + 1) * hidden]) for k in range(3))
                g = tanh16(pre[3 * hidden:], 3, 0)
                c = clamp16(_mbqm16(f * c, p["forget_multiplier"], p["forget_shift"])
                            + _mbqm16(i * g, p["input_multiplier"], p["input_shift"]))
                c = np.maximum(np.minimum(c, p["cell_clip"]), -p["cell_clip"])
                product = tanh16(c, p["tanh_multiplier"], p["tanh_shift"]) * o
                h = _round8(product, p, "hidden")
                y[t, d] = _round8(product, p, "y")
            y_h[d] = _round8(product, p, "y_h")
            y_c[d] = np.clip(p["cell_zero_point"] + arith.multiply_by_quantized_multiplier(
                c, p["cell_multiplier"], p["cell_shift"]), -128, 127)
        results = {"y": y, "y_h": y_h, "y_c": y_c}
        return [to_storage(results[role].astype(np.int8), graph.tensors[name])
                for name, role in zip(node.outputs, node.attrs["roles"], strict=True)]

    def emit(self, node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
        p = node.params
        steps, size, hidden, directions = sizes(node)
        bias_h = graph.tensors[node.inputs[4]].data
        assert bias_h is not None
        fields = [
            ("steps", str(steps)), ("input_size", str(size)), ("hidden_size", str(hidden)),
            ("directions", str(directions)), ("reverse", "1" if node.attrs["reverse"] else "0"),
            ("input_offset", str(p["input_offset"])), ("hidden_zero_point", str(p["hidden_zero_point"])),
            ("gate_clip", str(p["gate_clip"])), ("cell_clip", str(p["cell_clip"])),
            ("weights_x", ctx.pointer(node.inputs[1], "weights_x")),
            ("weights_h", ctx.pointer(node.inputs[2], "weights_h")),
            ("bias_x", ctx.pointer(node.inputs[3], "bias_x")),
            # TFLite has no recurrent bias: no array of zeros in flash
            ("bias_h", ctx.pointer(node.inputs[4], "bias_h") if np.any(bias_h) else "NULL"),
            ("multiplier_x", ctx.array("multiplier_x", p["multiplier_x"], "input-to-gate multipliers (Q3.12 out)")),
            ("shift_x", ctx.array("shift_x", int8_shifts(p["shift_x"]), "input-to-gate shifts")),
            ("multiplier_h", ctx.array("multiplier_h", p["multiplier_h"], "recurrent-to-gate multipliers")),
            ("shift_h", ctx.array("shift_h", int8_shifts(p["shift_h"]), "recurrent-to-gate shifts")),
            ("forget_multiplier", str(p["forget_multiplier"])), ("forget_shift", str(p["forget_shift"])),
            ("input_multiplier", str(p["input_multiplier"])), ("input_shift", str(p["input_shift"])),
            ("hidden_multiplier", str(p["hidden_multiplier"])), ("hidden_shift", str(p["hidden_shift"])),
            ("y_multiplier", str(p["y_multiplier"])), ("y_shift", str(p["y_shift"])),
            ("y_zero_point", str(p["y_zero_point"])),
            ("y_h_multiplier", str(p["y_h_multiplier"])), ("y_h_shift", str(p["y_h_shift"])),
            ("y_h_zero_point", str(p["y_h_zero_point"])),
            ("tanh_multiplier", str(p["tanh_multiplier"])), ("tanh_shift", str(p["tanh_shift"])),
            ("cell_multiplier", str(p["cell_multiplier"])), ("cell_shift", str(p["cell_shift"])),
            ("cell_zero_point", str(p["cell_zero_point"])),
            ("initial_h", ctx.pointer(node.inputs[5], "initial_h")),
            ("initial_c", ctx.pointer(node.inputs[6], "initial_c")),
            ("sigmoid_table", ctx.array("sigmoid_table", sigmoid_s16.SIGMOID_TABLE,
                                        "TFLite's sigmoid(i / 24) in unsigned Q0.16")),
        ]
        outputs = dict(zip(node.attrs["roles"], node.outputs, strict=True))
        strides = y_strides(graph.tensors[outputs["y"]], steps, directions, hidden) if "y" in outputs else (0, 0, 0)
        fields += [(f"y_{axis}_stride", str(stride)) for axis, stride in zip(("step", "direction", "unit"), strides,
                                                                                strict=True)]
        args = [ctx.pointer(node.inputs[0])] + [ctx.pointer(outputs[role]) if role in outputs else "NULL"
                                                for role in ROLES]
        return ctx.call(fields, args)
