"""Gemm (transB, alpha, beta, every bias shape) and MatMul (+ Add as the bias, also on a rank-3
[1, T, K] input) as fully connected layers."""

from __future__ import annotations

import numpy as np

from .harness import Case, make_model, node, standard_tests, weights


def gemm_case(case_id: str, k: int, n: int, *, bias_shape: tuple[int, ...] | None = (-1,), trans_b: int = 0,
              ops: list[str] | None = None, **attrs: object) -> Case:
    def build():
        rng = np.random.default_rng(len(case_id))
        w = weights(rng, n, k)  # [N, K]
        inits = {"B": w if trans_b else np.ascontiguousarray(w.T)}
        inputs = ["x", "B"]
        if bias_shape is not None:
            shape = tuple(n if d == -1 else d for d in bias_shape)
            inits["C"] = (rng.standard_normal(shape) * 0.3).astype(np.float32)
            inputs.append("C")
        gemm = node("Gemm", inputs, "y", name="gemm", transB=trans_b, **attrs)
        return make_model([gemm], {"x": [1, k]}, ["y"], inits)

    return Case(case_id, build, ops=ops or ["fully_connected"])


def matmul_add_case(case_id: str, in_shape: list[int], n: int, *, add: str = "vector",
                    bias_first: bool = False) -> Case:
    def build():
        rng = np.random.default_rng(len(case_id))
        k = in_shape[-1]
        inits = {"W": np.ascontiguousarray(weights(rng, n, k).T)}
        nodes = [node("MatMul", ["x", "W"], "mm" if add else "y", name="matmul")]
        if add:
            inits["b"] = (rng.standard_normal(n if add == "vector" else 1) * 0.3).astype(np.float32)
            operands = ["b", "mm"] if bias_first else ["mm", "b"]
            nodes.append(node("Add", operands, "y", name="bias_add"))
        return make_model(nodes, {"x": in_shape}, ["y"], inits)

    return Case(case_id, build, ops=["fully_connected"])


CASES = [
    gemm_case("gemm_transB", 24, 10, trans_b=1),
    gemm_case("gemm_no_trans", 24, 10),
    gemm_case("gemm_alpha_beta", 16, 8, trans_b=1, alpha=0.5, beta=2.0),
    gemm_case("gemm_bias_1xN", 16, 8, bias_shape=(1, -1)),
    gemm_case("gemm_bias_scalar", 16, 8, bias_shape=(1,), trans_b=1),
    gemm_case("gemm_bias_scalar_0d", 16, 8, bias_shape=(), trans_b=1),
    gemm_case("gemm_no_bias", 16, 8, bias_shape=None, trans_b=1),
    gemm_case("gemm_single_output", 32, 1, trans_b=1),
    matmul_add_case("matmul_add", [1, 20], 12),
    matmul_add_case("matmul_add_bias_first", [1, 20], 12, bias_first=True),
    matmul_add_case("matmul_add_scalar", [1, 20], 12, add="scalar"),
    matmul_add_case("matmul_no_bias", [1, 20], 12, add=""),
    matmul_add_case("matmul_rank3_tokens", [1, 5, 16], 8),
    matmul_add_case("matmul_rank3_no_bias", [1, 6, 12], 4, add=""),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
