"""Where with a constant condition (ops/where.py): two run-time operands, a run-time operand and a constant
fill (masked_fill), broadcast operands, a condition that selects one side only (a plain broadcast)."""

from __future__ import annotations

import numpy as np

from .harness import Case, TensorProto, make_model, node, standard_tests, weights

BOOL = TensorProto.BOOL


def where_case(case_id: str, cond: np.ndarray, x_shape, y, ops=None, y_shape=None, **kw):
    """y: "runtime" (a second input of y_shape) or a constant array."""
    def build():
        inits = {"cond": np.asarray(cond, bool)}
        inputs = {"x": list(x_shape)}
        if isinstance(y, str):
            inputs["y_in"] = list(y_shape or x_shape)
            nodes = [node("Relu", ["y_in"], "r"), node("Where", ["cond", "x", "r"], "y")]
        else:
            inits["fill"] = np.asarray(y, np.float32)
            nodes = [node("Where", ["cond", "x", "fill"], "y")]
        return make_model(nodes, inputs, ["y"], inits)
    return Case(case_id, build, ops=ops, **kw)


def causal_scores() -> object:
    """Attention-style scores [1, T, T] from a linear map, masked above the diagonal with -4, then Softmax."""
    rng = np.random.default_rng(61)
    t = 6
    inits = {"cond": np.tril(np.ones((t, t), bool))[None], "fill": np.array(-4.0, np.float32),
             "W": weights(rng, 5, t)}
    nodes = [node("MatMul", ["x", "W"], "s"), node("Where", ["cond", "s", "fill"], "m"),
             node("Softmax", ["m"], "y", axis=-1)]
    return make_model(nodes, {"x": [1, t, 5]}, ["y"], inits)


RNG = np.random.default_rng(60)
CASES = [
    where_case("where_two_tensors", RNG.random((1, 3, 4)) < 0.5, (1, 3, 4), "runtime", ops=["lut", "where"],
               steps=1.0),
    where_case("where_masked_fill", RNG.random((1, 2, 5)) < 0.5, (1, 2, 5), -1.5, ops=["where"], steps=1.0),
    where_case("where_broadcast_condition", [True, False, False, True], (1, 3, 4), 0.25, ops=["where"], steps=1.0),
    where_case("where_broadcast_operand", RNG.random((1, 3, 4)) < 0.5, (1, 3, 4), "runtime", y_shape=(1, 1, 4),
               ops=["lut", "copy", "where"], steps=1.0),
    where_case("where_all_true", np.ones((1, 3, 1), bool), (1, 1, 4), 2.0, ops=["copy"], steps=0.5),
    Case("where_causal_mask_softmax", causal_scores, ops=["fully_connected", "where", "softmax"], sqnr_db=25.0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
