"""LSTM: ONNX LSTM nodes as the exporters write them (a Transpose to time-major before, Transposes back to
batch-first after), forward / reverse / bidirectional, each output alone and together, constant and folded
zero initial states, clip and a full-length sequence_lens. Each compiled and compared golden == host C bit
for bit, and against onnxruntime's float run of the same file (SQNR printed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import tinygen
from tinygen.errors import UnsupportedModelError

from .harness import Case, CaseRunner, make_model, node, standard_tests

STEPS, FEATURES, HIDDEN = 9, 5, 8
OUTPUTS = {"LSTM": ["Y", "Y_h", "Y_c"], "GRU": ["Y", "Y_h"]}
GATES = {"LSTM": 4, "GRU": 3}


def recurrent_model(op: str, direction: str = "forward", outputs: tuple[str, ...] = ("Y",), hidden: int = HIDDEN,
                    features: int = FEATURES, steps: int = STEPS, seed: int = 0, initial: str = "none",
                    weight_scale: float = 1.0, lens: bool = False, name_all: bool = False,
                    **attrs: Any) -> onnx.ModelProto:
    """x [1, T, I] -> Transpose -> `op` -> each requested output back to batch-first: Y [T, D, 1, H] through
    Transpose(2, 0, 1, 3) and Reshape to [1, T, D * H] (PyTorch's bidirectional form), Y_h / Y_c [D, 1, H]
    through Transpose(1, 0, 2) to [1, D, H]. `initial`: "none", "constant" (random values in (-1, 1)) or
    "folded" (zeros made by Shape -> Gather -> Concat -> ConstantOfShape, as the legacy exporter writes them).
    `name_all`: every output of the node is named, the unrequested ones read by nothing (the legacy exporter)."""
    rng = np.random.default_rng(seed)
    d = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    inits: dict[str, np.ndarray] = {
        "W": (rng.standard_normal((d, g * hidden, features)) * weight_scale / np.sqrt(features)).astype(np.float32),
        "R": (rng.standard_normal((d, g * hidden, hidden)) * weight_scale / np.sqrt(hidden)).astype(np.float32),
        "B": (rng.standard_normal((d, 2 * g * hidden)) * 0.5).astype(np.float32),
    }
    nodes = [node("Transpose", ["x"], "xt", perm=[1, 0, 2])]
    inputs = ["xt", "W", "R", "B", "", "", ""]
    if lens:
        inits["lens"] = np.full(1, steps, np.int32)
        inputs[4] = "lens"
    states = ["initial_h", "initial_c"][: len(OUTPUTS[op]) - 1]
    for k, state in enumerate(states):
        if initial == "constant":
            inits[state] = rng.uniform(-0.9, 0.9, (d, 1, hidden)).astype(np.float32)
        elif initial == "folded":
            inits[f"{state}_head"] = np.array([d], np.int64)
            inits[f"{state}_tail"] = np.array([hidden], np.int64)
            inits["zero_index"] = np.array(0, np.int64)
            nodes += [node("Shape", ["x"], f"{state}_shape"),
                      node("Gather", [f"{state}_shape", "zero_index"], f"{state}_batch", axis=0),
                      node("Unsqueeze", [f"{state}_batch", "axes0"], f"{state}_batch1"),
                      node("Concat", [f"{state}_head", f"{state}_batch1", f"{state}_tail"], f"{state}_dims", axis=0),
                      helper.make_node("ConstantOfShape", [f"{state}_dims"], [state], name=f"zeros_{state}",
                                       value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))]
            inits["axes0"] = np.array([0], np.int64)
        if initial != "none":
            inputs[5 + k] = state
    while inputs[-1] == "":
        inputs.pop()
    wanted = [name if name in outputs or name_all else "" for name in OUTPUTS[op]]
    while wanted[-1] == "":
        wanted.pop()
    nodes.append(helper.make_node(op, inputs, wanted, name=op.lower(), hidden_size=hidden, direction=direction,
                                  **attrs))
    finals = []
    for name in outputs:
        if name == "Y":
            inits["y_shape"] = np.array([1, steps, d * hidden], np.int64)
            nodes += [node("Transpose", ["Y"], "Y_batch", perm=[2, 0, 1, 3]),
                      node("Reshape", ["Y_batch", "y_shape"], "y")]
            finals.append("y")
        else:
            nodes.append(node("Transpose", [name], name.lower(), perm=[1, 0, 2]))
            finals.append(name.lower())
    return make_model(nodes, {"x": [1, steps, features]}, finals, inits, opset=14)


def lstm_case(case_id: str, **kwargs: Any) -> Case:
    return Case(case_id, lambda: recurrent_model("LSTM", **kwargs), ops=None)


CASES = [
    lstm_case("lstm_forward_all_outputs", outputs=("Y", "Y_h", "Y_c")),
    lstm_case("lstm_reverse_y_h", direction="reverse", outputs=("Y_h",), seed=1),
    lstm_case("lstm_bidirectional_y", direction="bidirectional", outputs=("Y",), seed=2),
    lstm_case("lstm_bidirectional_states", direction="bidirectional", outputs=("Y_h", "Y_c"), seed=3,
              initial="constant"),
    lstm_case("lstm_y_c_only", outputs=("Y_c",), seed=4),
    lstm_case("lstm_folded_zero_states_lens", outputs=("Y", "Y_h"), seed=5, initial="folded", lens=True),
    # Large weights saturate the gates; clip=1.5 bounds every pre-activation (a third of its range clipped).
    lstm_case("lstm_clip", outputs=("Y",), seed=6, weight_scale=3.0, clip=1.5),
    lstm_case("lstm_unread_outputs", outputs=("Y_h",), seed=8, name_all=True),
    lstm_case("lstm_wide_long", outputs=("Y_h",), seed=7, hidden=40, features=12, steps=50),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def test_unread_outputs_are_not_computed(run_case: CaseRunner) -> None:
    """Y and Y_c are named but read by nothing: the layer computes Y_h alone (no arena for the others)."""
    result = run_case(next(case for case in CASES if case.id == "lstm_unread_outputs"))
    layer = next(n for n in result.model.graph.nodes if n.op == "lstm")
    assert layer.attrs["roles"] == ["y_h"] and len(layer.outputs) == 1


# --- what is refused, and how -----------------------------------------------------------------------

def _with_attribute(op: str, **changes: Any) -> onnx.ModelProto:
    """The forward Y_h model of `op` with attributes added to the recurrent node."""
    model = recurrent_model(op, outputs=("Y_h",))
    recurrent = next(n for n in model.graph.node if n.op_type == op)
    for key, value in changes.items():
        recurrent.attribute.append(helper.make_attribute(key, value))
    return model


REFUSED = [
    ("LSTM", {"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations \\['Sigmoid', 'Relu', 'Tanh'\\]; "
                                                           "tinygen's integer LSTM computes the default"),
    ("GRU", {"activations": ["HardSigmoid", "Tanh"]}, "activations \\['HardSigmoid', 'Tanh'\\]"),
    ("LSTM", {"input_forget": 1}, "input_forget=1"),
    ("GRU", {"activation_alpha": [0.5]}, "activation_alpha / activation_beta are set"),
]


@pytest.mark.parametrize("op,changes,message", REFUSED, ids=[f"{op}-{next(iter(c))}" for op, c, _ in REFUSED])
def test_unsupported_forms_are_refused_by_name(op: str, changes: dict[str, Any], message: str,
                                               tmp_path: Path) -> None:
    onnx.save(_with_attribute(op, **changes), tmp_path / "m.onnx")
    with pytest.raises(UnsupportedModelError, match=f"node '{op.lower()}' \\({op}\\): {message}"):
        tinygen.compile(tmp_path / "m.onnx", None, calib="random", warn=lambda _: None)


def test_run_time_initial_state_is_refused(tmp_path: Path) -> None:
    """An initial state computed from the input cannot be folded: refused, naming the input."""
    model = recurrent_model("LSTM", outputs=("Y_h",), features=HIDDEN)
    graph = model.graph
    recurrent = next(n for n in graph.node if n.op_type == "LSTM")
    graph.initializer.extend([onnx.numpy_helper.from_array(np.array([1, 1, HIDDEN], np.int64), "h_shape"),
                              onnx.numpy_helper.from_array(np.array([0], np.int64), "first"),
                              onnx.numpy_helper.from_array(np.array([1], np.int64), "one")])
    index = list(graph.node).index(recurrent)
    graph.node.insert(index, node("Reshape", ["x_first", "h_shape"], "h_run"))
    graph.node.insert(index, node("Slice", ["xt", "first", "one"], "x_first"))
    while len(recurrent.input) < 6:
        recurrent.input.append("")
    recurrent.input[5] = "h_run"
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(UnsupportedModelError, match="the initial_h is computed at run time"):
        tinygen.compile(tmp_path / "m.onnx", None, calib="random", warn=lambda _: None)
