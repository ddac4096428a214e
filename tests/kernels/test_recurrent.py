"""The recurrent kernels (tg_lstm_s8, tg_gru_s8) equal their golden references exactly, on random layers:
sequence lengths 1..40, input and hidden sizes 1..48, every direction, random input / hidden / Y_c scales and
zero points (the extremes included), cell formats Q0.15 .. Q15.0, clip on and off, huge biases (the weight
scale raised to keep the accumulator in int32), both GRU reset placements, outputs Y and Y_h with parameters
of their own and of the state's int8 copy, Y stored plain or as a feature map (strided writes). Built with
AddressSanitizer and UndefinedBehaviorSanitizer; the LSTM golden reference is also checked against a float
recurrence computed by hand (test_lstm_golden_matches_hand_computed_float)."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.api import write_compiled
from tinygen.ir import Graph, Layout, Node, QuantParams, Tensor, verify
from tinygen.ops import op_of
from tinygen.ops.recurrent import float_lstm

from ..conftest import assert_identical
from .builder import random_batch

LAYERS = 3
SAMPLES = 6
GATES = {"lstm": 4, "gru": 3}


def _quant(rng: np.random.Generator, low: float, high: float) -> QuantParams:
    zero_point = int(rng.choice([-128, 127, 0])) if rng.random() < 0.3 else int(rng.integers(-128, 128))
    return QuantParams.per_tensor(float(np.float32(2.0 ** rng.uniform(low, high))), zero_point)


def recurrent_graph(op: str, seed: int) -> Graph:
    """LAYERS independent `op` layers with random sizes, directions, parameters and output layouts."""
    rng = np.random.default_rng(seed)
    graph = Graph(f"{op}_{seed}")
    for layer in range(LAYERS):
        steps, size, hidden = int(rng.integers(1, 41)), int(rng.integers(1, 49)), int(rng.integers(1, 49))
        direction = str(rng.choice(["forward", "reverse", "bidirectional"]))
        d, rows = (2 if direction == "bidirectional" else 1), GATES[op] * hidden
        spread = rng.uniform(0.2, 3.0)
        constants = [rng.standard_normal((d, rows, size)) * spread / np.sqrt(size),
                     rng.standard_normal((d, rows, hidden)) * spread / np.sqrt(hidden),
                     rng.standard_normal((d, rows)) * (1e6 if layer == 0 and seed % 2 else 0.5),
                     rng.standard_normal((d, rows)) * 0.5,
                     rng.uniform(-0.9, 0.9, (d, hidden)) * (rng.random() < 0.5)]
        if op == "lstm":
            constants.append(rng.uniform(-2, 2, (d, hidden)) * (rng.random() < 0.5))
        else:
            constants.append(constants[-1])
        names = []
        for k, array in enumerate(constants):
            name = f"c{layer}_{k}"
            graph.add_tensor(Tensor(name, array.shape, "float32", data=array.astype(np.float32)))
            names.append(name)
        x = f"x{layer}"
        graph.add_tensor(Tensor(x, (1, steps, size), "int8", quant=_quant(rng, -8, 1), onnx_shape=(1, steps, size)))
        graph.inputs.append(x)
        hidden_q = _quant(rng, -9, -5)
        y_layout = Layout.CHANNELS_LAST if rng.random() < 0.5 else Layout.PLAIN
        outputs = {"y": ((1, steps, d, hidden), y_layout), "y_h": ((1, d, hidden), Layout.PLAIN)}
        if op == "lstm":
            outputs["y_c"] = ((1, d, hidden), Layout.PLAIN)
        roles = [role for role in outputs if rng.random() < 0.7] or ["y"]
        # Y_h with parameters of its own, the state's int8 copy at a calibrated range (from its own
        # generator, so the draws above stay those of every seed)
        own = np.random.default_rng(100 * seed + layer)
        out_names = []
        for role in roles:
            onnx_shape, layout = outputs[role]
            name = f"{role}{layer}"
            quant = (_quant(rng, -6, 1) if role == "y_c" else
                     _quant(own, -9, -5) if role == "y_h" and own.random() < 0.7 else hidden_q)
            graph.add_tensor(Tensor(name, layout.physical_shape(onnx_shape), "int8", quant=quant,
                                    onnx_shape=onnx_shape, layout=layout))
            out_names.append(name)
        attrs = {"steps": steps, "input_size": size, "hidden": hidden, "directions": d,
                 "reverse": direction == "reverse", "clip": float(rng.uniform(0.5, 6)) if rng.random() < 0.3 else None,
                 "roles": roles}
        if op == "lstm":
            # cell formats Q0.15 .. Q15.0, both ends in every graph
            attrs["cell_absmax"] = [0.3, 2.0**15, float(2.0 ** rng.uniform(-2, 15.5))][layer]
        else:
            attrs["linear_before_reset"] = int(rng.integers(0, 2))
        if own.random() < 0.6:
            attrs["hidden_range"] = (-own.uniform(0.2, 1.0), own.uniform(0.2, 1.0))
        node = Node(f"{op}{layer}", op, [x, *names], out_names, attrs)
        graph.nodes.append(node)
        graph.outputs += out_names
        op_of(node).quantize(node, graph)
    verify(graph)
    return graph


CASES = [(op, seed) for op in ("lstm", "gru") for seed in (1, 2, 3, 4, 5, 6)]


@pytest.mark.parametrize("op,seed", CASES, ids=[f"{op}-seed{seed}" for op, seed in CASES])
def test_c_kernel_equals_golden(op: str, seed: int, tmp_path) -> None:
    graph = recurrent_graph(op, seed)
    model = write_compiled(graph, tmp_path / "out", f"k_{op}_{seed}").model
    batch = random_batch(np.random.default_rng(1000 + seed), graph, SAMPLES)
    golden = model.golden(batch, int8=True)
    c = model.run(batch, int8=True, sanitize=True)
    assert isinstance(golden, dict) and isinstance(c, dict)
    for name in graph.outputs:
        assert_identical(golden[name], c[name], f"{op} seed {seed}, output '{name}'")
    values = np.unique(np.concatenate([v.ravel() for v in golden.values()]))
    assert values.size >= 16, f"{op} seed {seed}: outputs take only {values.size} distinct values"


def test_cases_cover_the_extremes() -> None:
    """The random layers above contain what the docstring claims."""
    bits, lbr, strides, directions, clipped, huge_bias = set(), set(), set(), set(), False, False
    for op, seed in CASES:
        graph = recurrent_graph(op, seed)
        for node in graph.nodes:
            if "cell_scale" in node.params:  # LSTM: the cell state's integer bits
                bits.add(int(np.log2(node.params["cell_scale"])) + 15)
            lbr.add(node.attrs.get("linear_before_reset"))
            directions.add((node.attrs["directions"], node.attrs["reverse"]))
            strides.add(graph.tensors[node.outputs[0]].layout)
            clipped |= node.params.get("gate_clip", node.params.get("clip", 32767)) < 32767
            bias = graph.tensors[node.inputs[3]].data
            assert bias is not None
            huge_bias |= int(np.abs(bias).max()) > 2**30
    assert {0, 15} <= bits and {0, 1} <= lbr and clipped and huge_bias
    assert directions == {(1, False), (1, True), (2, False)}
    assert strides == {Layout.PLAIN, Layout.CHANNELS_LAST}


def test_lstm_golden_matches_hand_computed_float() -> None:
    """One unit, one input, three steps, weights chosen so the recurrence is easy to follow by hand:
    i = o = f = sigmoid(0) = 0.5 at every step (zero weights and bias for those gates), g = tanh(x_t + 0.5 h):
        t0: x = 0.5:  g = tanh(0.5)               = 0.46212, c = 0.5 g       = 0.23106, h = 0.5 tanh(c) = 0.11352
        t1: x = -1:   g = tanh(-1 + 0.5 * 0.11352) = -0.73671, c = 0.5 (c + g) = -0.25282, h = -0.12379
        t2: x = 1:    g = tanh(1 - 0.5 * 0.12379)  = 0.73435, c = 0.24076, h = 0.11811
    The float recurrence (ops/recurrent.float_lstm) gives these numbers, and the int8 golden kernel agrees
    within its quantization: h steps of 1/256 (scale 2^-8), so within 1.5 steps."""
    hand = np.array([0.11352, -0.12379, 0.11811])
    w = np.zeros((4, 1), np.float64)
    w[3, 0] = 1.0  # input to the cell gate
    r = np.zeros((4, 1), np.float64)
    r[3, 0] = 0.5
    x = np.array([[0.5], [-1.0], [1.0]])
    h, _ = float_lstm(x, w, r, np.zeros(4), np.zeros(4), np.zeros(1), np.zeros(1), False, None)
    np.testing.assert_allclose(h[:, 0], hand, atol=1e-5)

    graph = Graph("hand")
    for name, array in [("w", w[None]), ("r", r[None]), ("wb", np.zeros((1, 4))), ("rb", np.zeros((1, 4))),
                        ("h0", np.zeros((1, 1))), ("c0", np.zeros((1, 1)))]:
        graph.add_tensor(Tensor(name, array.shape, "float32", data=array.astype(np.float32)))
    graph.add_tensor(Tensor("x", (1, 3, 1), "int8", quant=QuantParams.per_tensor(1 / 64, 0), onnx_shape=(1, 3, 1)))
    graph.add_tensor(Tensor("y", (1, 3, 1, 1), "int8", quant=QuantParams.per_tensor(1 / 256, 0),
                            onnx_shape=(1, 3, 1, 1)))
    node = Node("lstm", "lstm", ["x", "w", "r", "wb", "rb", "h0", "c0"], ["y"],
                {"steps": 3, "input_size": 1, "hidden": 1, "directions": 1, "reverse": False, "clip": None,
                 "roles": ["y"], "cell_absmax": 1.0})
    graph.nodes.append(node)
    op_of(node).quantize(node, graph)
    q = op_of(node).reference(node, graph, [np.array([32, -64, 64], np.int8).reshape(1, 3, 1)])[0]
    got = q.astype(np.float64).ravel() / 256
    assert np.all(np.abs(got - hand) <= 1.5 / 256), f"golden {got} vs hand-computed {hand}"
