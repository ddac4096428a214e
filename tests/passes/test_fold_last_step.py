"""passes/fold_last_step.py: a GRU's or an ONNX LSTM's last step read through Gather (PyTorch's
`output[:, -1]`) becomes the layer's Y_h output, Y is no longer computed; where the read step is not the final
state (a reverse or bidirectional layer's step T-1) nothing changes. Numerics of the folded
form: golden == host C and close to onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from tinygen.passes import fold_copies, fold_last_step

from ..ops.harness import Case, const, make_model, node, weights
from .conftest import check_numerics, import_ir, ops

STEPS, FEATURES, HIDDEN = 7, 4, 8


def last_step_model(direction: str, op: str = "GRU"):
    gates, extra = (3, {"linear_before_reset": 1}) if op == "GRU" else (4, {})

    def build():
        rng = np.random.default_rng(17)
        d = 2 if direction == "bidirectional" else 1
        inits = {"W": (rng.standard_normal((d, gates * HIDDEN, FEATURES)) / 2).astype(np.float32),
                 "R": (rng.standard_normal((d, gates * HIDDEN, HIDDEN)) / 3).astype(np.float32),
                 "B": (rng.standard_normal((d, 2 * gates * HIDDEN)) * 0.3).astype(np.float32),
                 "y_shape": const([1, STEPS, d * HIDDEN], np.int64), "last": const(-1, np.int64),
                 "head": weights(rng, d * HIDDEN, 3)}
        nodes = [node("Transpose", ["x"], "xt", perm=[1, 0, 2]),
                 helper.make_node(op, ["xt", "W", "R", "B"], ["Y"], name=op.lower(), hidden_size=HIDDEN,
                                  direction=direction, **extra),
                 node("Transpose", ["Y"], "Y_batch", perm=[2, 0, 1, 3]), node("Reshape", ["Y_batch", "y_shape"], "yb"),
                 node("Gather", ["yb", "last"], "step", axis=1), node("MatMul", ["step", "head"], "y")]
        return make_model(nodes, {"x": [1, STEPS, FEATURES]}, ["y"], inits)
    return build


def _after(direction: str, folder, op: str = "GRU"):
    graph = import_ir(last_step_model(direction, op)(), folder)
    fold_copies.run(graph)  # the pipeline's order: the movements composed into one first
    rewrites = fold_last_step.run(graph)
    graph.remove_unused_tensors()
    return graph, rewrites


def test_last_step_of_a_forward_gru_is_its_final_state(folder, run_case) -> None:
    graph, rewrites = _after("forward", folder)
    assert rewrites == 1 and ops(graph) == ["reshape", "gru", "fully_connected"], ops(graph)
    gru = next(n for n in graph.nodes if n.op == "gru")
    assert gru.attrs["roles"] == ["y_h"] and gru.outputs == ["step"]
    check_numerics(Case("pass_fold_last_step", last_step_model("forward"), ops=["reshape", "gru", "fully_connected"]),
                   run_case)


def test_last_step_of_a_forward_onnx_lstm_is_its_final_state(folder, run_case) -> None:
    """An ONNX LSTM rounds Y_h from tanh(c) o itself (ops/lstm.py), in the final states' parameters."""
    graph, rewrites = _after("forward", folder, "LSTM")
    assert rewrites == 1 and ops(graph) == ["reshape", "lstm", "fully_connected"], ops(graph)
    lstm = next(n for n in graph.nodes if n.op == "lstm")
    assert lstm.attrs["roles"] == ["y_h"] and lstm.outputs == ["step"]
    check_numerics(Case("pass_fold_last_step_lstm", last_step_model("forward", "LSTM"),
                        ops=["reshape", "lstm", "fully_connected"]), run_case)


@pytest.mark.parametrize("direction", ["reverse", "bidirectional"])
def test_step_t_minus_1_of_a_reverse_direction_stays(direction: str, folder) -> None:
    """The reverse direction's final state is at step 0: Y[-1] is not Y_h, Y stays (test_gru.py runs
    these directions' numerics)."""
    graph, rewrites = _after(direction, folder)
    gru = next(n for n in graph.nodes if n.op == "gru")
    assert rewrites == 0 and gru.attrs["roles"] == ["y"]
