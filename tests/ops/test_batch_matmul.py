"""MatMul of two run-time tensors (TFLite's int8 BATCH_MATMUL): batched, with broadcast batch axes, with
K transposed by a Transpose node (folded into the kernel's addressing), constant operands of other
shapes than a 2-D weight matrix, feature-map operands, and attention's head split and merge.

The bound: each output is a sum of K products of two rounded operands; each term's error is about
|a| 0.5 s_b + |b| 0.5 s_a, independent across terms, so the sum's error grows like sqrt(K) while the
output range grows like sqrt(K) too: a few output steps (4) bound it for the K used here."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

PRODUCT_STEPS = 4.0


def product(case_id: str, shape_a: list[int], shape_b: list[int], ops: list[str] | None = None) -> Case:
    def build():
        return make_model([node("MatMul", ["a", "b"], "y")], {"a": shape_a, "b": shape_b}, ["y"])
    return Case(case_id, build, steps=PRODUCT_STEPS, ops=ops or ["batch_matmul"])


def transposed_k(case_id: str, perm: list[int]) -> Case:
    """scores = q k^T with k transposed by a Transpose node. The Transpose imports as a strided copy
    (ops/copy.py), which passes/fold_matmul_transpose.py folds into the kernel's strides."""
    def build():
        return make_model([node("Transpose", ["k"], "kt", perm=perm), node("MatMul", ["q", "kt"], "y")],
                          {"q": [1, 2, 6, 4], "k": [1, 2, 6, 4] if perm == [0, 1, 3, 2] else [1, 6, 2, 4]}, ["y"])
    return Case(case_id, build, steps=PRODUCT_STEPS, ops=["batch_matmul"])


def constant_operand(case_id: str, constant: np.ndarray, first: bool, shape: list[int]) -> Case:
    def build():
        inputs = ["w", "x"] if first else ["x", "w"]
        return make_model([node("MatMul", inputs, "y")], {"x": shape}, ["y"], {"w": constant})
    return Case(case_id, build, steps=PRODUCT_STEPS, ops=["batch_matmul"])


def feature_map_operand(case_id: str, with_weights: bool) -> Case:
    """A Conv's output (stored channels-last) multiplied over its last ONNX axis (W): brought back into
    ONNX's order by a transpose first. Once refused as 'a matrix product over a feature map's spatial axis'."""
    def build():
        rng = np.random.default_rng(5)
        inits = {"W": weights(rng, 3, 2, 3, 3), "B": np.zeros(3, np.float32)}
        nodes = [node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1])]
        inputs = {"x": [1, 2, 4, 5]}
        if with_weights:
            inits["M"] = weights(rng, 5, 6)
            nodes.append(node("MatMul", ["c", "M"], "y"))
        else:
            inputs["m"] = [1, 3, 5, 2]
            nodes.append(node("MatMul", ["c", "m"], "y"))
        return make_model(nodes, inputs, ["y"], inits)
    return Case(case_id, build, steps=PRODUCT_STEPS,
                ops=["conv2d", "transpose", "fully_connected"] if with_weights else ["conv2d", "batch_matmul"])


def attention(case_id: str, heads: int = 2, tokens: int = 6, width: int = 8) -> Case:
    """Multi-head self-attention as PyTorch writes it by hand: projections, Reshape [B, T, H, D],
    Transpose to [B, H, T, D] (K to [B, H, D, T]), scaled scores, Softmax, A V, Transpose back,
    Reshape [B, T, H D], output projection. Every Transpose is folded into a matmul's strides."""
    def build():
        rng = np.random.default_rng(11)
        dh = width // heads
        inits = {f"W{p}": weights(rng, width, width) for p in "qkvo"}
        inits.update({"heads_shape": const([1, tokens, heads, dh], np.int64),
                      "merged_shape": const([1, tokens, width], np.int64), "scale": const(dh ** -0.5)})
        nodes = []
        for p, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            nodes += [node("MatMul", ["x", f"W{p}"], f"{p}_proj"),
                      node("Reshape", [f"{p}_proj", "heads_shape"], f"{p}_heads"),
                      node("Transpose", [f"{p}_heads"], f"{p}_t", perm=perm)]
        nodes += [node("MatMul", ["q_t", "k_t"], "scores"), node("Mul", ["scores", "scale"], "scaled"),
                  node("Softmax", ["scaled"], "attn", axis=-1), node("MatMul", ["attn", "v_t"], "context"),
                  node("Transpose", ["context"], "context_t", perm=[0, 2, 1, 3]),
                  node("Reshape", ["context_t", "merged_shape"], "merged"), node("MatMul", ["merged", "Wo"], "y")]
        return make_model(nodes, {"x": [1, tokens, width]}, ["y"], inits)
    ops = ["fully_connected", "fully_connected", "fully_connected", "batch_matmul", "softmax", "batch_matmul",
           "fully_connected"]  # the scale joins the scores' requantization (passes/fuse_matmul_scale.py)
    # Six requantizations in a chain (projections, scores, scale, softmax, A V, output): SQNR floor 28 dB
    # (measured 32.8 dB, max error 0.7 steps).
    return Case(case_id, build, sqnr_db=28.0, ops=ops)


def relu_after(case_id: str) -> Case:
    """Relu after a product of two run-time tensors becomes the kernel's clamp."""
    def build():
        return make_model([node("MatMul", ["a", "b"], "p"), node("Relu", ["p"], "y")],
                          {"a": [1, 3, 4], "b": [1, 4, 5]}, ["y"])
    return Case(case_id, build, steps=PRODUCT_STEPS, ops=["batch_matmul"])


CASES = [
    product("matmul_runtime_batched", [1, 2, 6, 4], [1, 2, 4, 6]),
    product("matmul_runtime_broadcast_batch", [1, 3, 5, 4], [1, 1, 4, 2]),
    product("matmul_runtime_broadcast_rank", [1, 3, 5, 4], [1, 4, 2]),
    product("matmul_runtime_rank3", [1, 7, 8], [1, 8, 3]),
    transposed_k("matmul_transpose_last_two", [0, 1, 3, 2]),
    transposed_k("matmul_transpose_heads", [0, 2, 3, 1]),
    constant_operand("matmul_constant_rank3_rhs", weights(np.random.default_rng(3), 2, 4, 3), False, [1, 2, 5, 4]),
    constant_operand("matmul_constant_lhs", weights(np.random.default_rng(4), 3, 5), True, [1, 2, 5, 4]),
    constant_operand("matmul_constant_vector_rhs", weights(np.random.default_rng(6), 4), False, [1, 3, 4]),
    feature_map_operand("matmul_feature_map_runtime", with_weights=False),
    feature_map_operand("matmul_feature_map_weights", with_weights=True),
    relu_after("matmul_relu"),
    attention("attention_two_heads"),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
