"""GRU: ONNX GRU nodes as the exporters write them (see test_lstm.recurrent_model), linear_before_reset 0
(ONNX's default) and 1 (PyTorch's), forward / reverse / bidirectional, Y and Y_h alone and together, a
constant and a folded zero initial state, clip. Golden == host C bit for bit, and close to onnxruntime."""

from __future__ import annotations

from typing import Any

from .harness import Case, standard_tests
from .test_lstm import recurrent_model


def gru_case(case_id: str, **kwargs: Any) -> Case:
    return Case(case_id, lambda: recurrent_model("GRU", **kwargs))


CASES = [
    gru_case("gru_forward_both", outputs=("Y", "Y_h")),
    gru_case("gru_linear_before_reset", outputs=("Y", "Y_h"), seed=1, linear_before_reset=1),
    gru_case("gru_reverse_y_h", direction="reverse", outputs=("Y_h",), seed=2, linear_before_reset=1),
    gru_case("gru_bidirectional_y", direction="bidirectional", outputs=("Y",), seed=3),
    gru_case("gru_bidirectional_constant_state", direction="bidirectional", outputs=("Y_h",), seed=4,
             initial="constant", linear_before_reset=1),
    gru_case("gru_folded_zero_state", outputs=("Y",), seed=5, initial="folded"),
    gru_case("gru_clip", outputs=("Y",), seed=6, weight_scale=3.0, clip=1.5),
    gru_case("gru_wide_long", outputs=("Y_h",), seed=7, hidden=40, features=12, steps=50, linear_before_reset=1),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
